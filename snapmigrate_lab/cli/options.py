"""The options several ``snapmigrate lab`` commands share: the lab's directory
and the realism knobs (``lab up`` starts with them, ``lab knobs`` changes them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def dir_option(f: F) -> F:
    return click.option(
        "--dir",
        "directory",
        envvar="SNAPMIGRATE_LAB_DIR",
        default=".snapmigrate-lab",
        show_default=True,
        type=click.Path(file_okay=False),
        help="The lab's directory (also SNAPMIGRATE_LAB_DIR).",
    )(f)


def knob_options(f: F) -> F:
    options = [
        click.option(
            "--delay-polls",
            type=click.IntRange(min=0),
            help="Resources stay creating/modifying/... for N describe polls.",
        ),
        click.option(
            "--delay-seconds", type=click.FloatRange(min=0), help="... and for at least T seconds."
        ),
        click.option(
            "--throttle-rate",
            type=click.FloatRange(0, 1),
            help="Fraction of AWS calls answered with throttling.",
        ),
        click.option(
            "--error-rate",
            type=click.FloatRange(0, 1),
            help="Fraction of AWS calls answered with HTTP 500/503.",
        ),
        click.option(
            "--knob-seed",
            "knob_seed",
            type=int,
            help="Seed of the random faults (same seed, same faults).",
        ),
        click.option(
            "--rename-dns-delay",
            "rename_dns_delay_s",
            type=click.FloatRange(min=0),
            help="A renamed cluster's new endpoint names resolve only after S seconds.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def knob_values(values: dict[str, Any]) -> dict[str, Any]:
    """The knobs given on the command line, by their :class:`~snapmigrate_lab.realism.Knobs`
    names (``--knob-seed`` is ``seed``)."""
    names = {"delay_polls": "delay_polls", "delay_seconds": "delay_seconds",
             "throttle_rate": "throttle_rate", "error_rate": "error_rate", "knob_seed": "seed",
             "rename_dns_delay_s": "rename_dns_delay_s"}  # fmt: skip
    return {
        knob: values[option] for option, knob in names.items() if values.get(option) is not None
    }

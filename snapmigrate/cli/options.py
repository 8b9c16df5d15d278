"""What several commands share: the state directory and ``--yes`` options,
whether an option was given, and asking on the terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from snapmigrate.errors import BadInput

F = TypeVar("F", bound=Callable[..., Any])


def state_dir_option(f: F) -> F:
    return click.option(
        "--state-dir",
        envvar="SNAPMIGRATE_STATE_DIR",
        type=click.Path(file_okay=False),
        help="Where run journals live (default ./.snapmigrate).",
    )(f)


def yes_option(f: F) -> F:
    return click.option(
        "--yes", "-y", is_flag=True, help="Do not ask for confirmation (needed without a terminal)."
    )(f)


def given(name: str) -> bool:
    """Whether the user set option ``name`` (on the command line or in the environment)."""
    source = click.get_current_context().get_parameter_source(name)
    return source in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


def ask(question: str) -> bool:
    """Ask on the terminal (stderr), no by default."""
    return click.confirm(question, default=False, err=True)


def terminal_check(what: str) -> Callable[[], None]:
    """A check that raises bad input (exit 2) when there is no terminal to ask on."""

    def no_terminal() -> None:
        if not sys.stdin.isatty():
            raise BadInput(
                f"{what} asks first, but there is no terminal to ask on: pass --yes; "
                "nothing was changed"
            )

    return no_terminal


def terminal_asker(yes: bool, what: str, *, now: bool = False) -> Callable[[str], bool] | None:
    """None with ``--yes``; else a question on the terminal. Without a terminal
    that is bad input, raised when the question comes (before any change) --
    or at once with ``now``, for a command that reads a lot before it asks."""
    no_terminal = terminal_check(what)
    if yes:
        return None
    if now:
        no_terminal()

    def confirm(question: str) -> bool:
        no_terminal()
        return ask(question)

    return confirm

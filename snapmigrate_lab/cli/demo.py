"""``snapmigrate lab demo``: the whole migration on a local Aurora of its own
(the stages are :mod:`snapmigrate_lab.demo`'s and :mod:`snapmigrate_lab.demo_catchup`'s)."""

from __future__ import annotations

import click

from snapmigrate.cli import app_context, configure_logging, emit, global_options


@click.command(
    short_help="The whole migration on a local Aurora: up, seed, plan, migrate, verify, down."
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False),
    help="Lab directory (default: a fresh temporary one).",
)
@click.option(
    "--scale",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="pgbench scale of the seed (1 = 100,000 accounts).",
)
@click.option("--keep", is_flag=True, help="Leave the lab running at the end, to look around.")
@click.option(
    "--scenario",
    type=click.Choice(["freeze", "catch-up"]),
    default="freeze",
    show_default=True,
    help="freeze: a v1 source frozen from the snapshot to the cutover; catch-up: a provisioned "
    "source caught up by logical replication (--catch-up logical).",
)
@global_options
def demo(directory: str | None, scale: int, keep: bool, scenario: str) -> None:
    """The whole story against a local Aurora: start the lab, seed an Aurora
    Serverless v1 cluster with data, plan its move to Serverless v2, migrate it
    (snapshot, restore, db.serverless instances, verification), verify the copy
    table by table, print a summary, and take everything down again.

    --scenario catch-up: a provisioned source instead, migrated with --catch-up
    logical while an application writes, its catch-up's status, and a cutover
    whose write outage is that of the freeze, the drain and what changed.

    Talks only to its own lab: AWS_PROFILE, PG* and proxy variables of yours
    are ignored. Exit code: 0, or that of the first failing stage (the lab is
    taken down all the same, unless --keep).
    """
    import tempfile

    from snapmigrate.waiting import progress_for
    from snapmigrate_lab import Lab, report
    from snapmigrate_lab.demo import run_demo
    from snapmigrate_lab.demo_runner import DemoContext

    app = app_context()
    configure_logging(app)
    path = directory or tempfile.mkdtemp(prefix="snapmigrate-lab-")

    def show(text: str) -> None:
        if not app.json and not app.quiet:
            click.echo(text)

    progress = app.say

    from snapmigrate_lab import majors
    from snapmigrate_lab.seed import ENGINE_VERSIONS

    # Fetched here, with the user's environment (a proxy npm may need), not the demo's clean one.
    kind = "provisioned" if scenario == "catch-up" else "v1"
    warning = majors.prepare(None, [majors.major_of(ENGINE_VERSIONS[kind])], progress)
    if warning:
        progress(f"WARNING: {warning}")
    ctx = DemoContext(
        lab=Lab(path),
        scale=scale,
        keep=keep,
        show=show,
        progress=progress,
        wait_progress=progress_for(quiet=app.quiet),
        verbose=app.verbosity > 0,
    )
    if scenario == "catch-up":
        from snapmigrate_lab.demo_catchup import STAGES

        result = run_demo(ctx, STAGES)
    else:
        result = run_demo(ctx)
    emit(app, result.to_dict(), lambda: report.demo_table(result))
    if result.error is not None:
        raise result.error

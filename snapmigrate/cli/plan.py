"""``snapmigrate plan SOURCE --target NAME``: inspect, preflight, print the plan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any, TypeVar

import click

from snapmigrate import commands
from snapmigrate.cli import app_context, configure_logging, emit, global_options
from snapmigrate.cutover.swap import MODES, NO_CUTOVER
from snapmigrate.plan.options import PATHS, PlanOptions
from snapmigrate.report import compare as compare_report
from snapmigrate.report import plan as plan_report

F = TypeVar("F", bound=Callable[..., Any])


def _parse_tags(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    tags = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", ctx=ctx, param=param)
        tags[key] = value
    return tags


def _parse_list(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(v.strip() for v in value.split(",") if v.strip())


def plan_options(f: F) -> F:
    """The options that shape a plan (shared by ``plan`` and ``migrate``)."""
    lifecycles = ["open-source-rds-extended-support", "open-source-rds-extended-support-disabled"]
    options = [
        click.argument("source"),
        click.option(
            "--target", "-t", help="Identifier of the new cluster (the snapshot path only)."
        ),
        click.option(
            "--path",
            type=click.Choice(PATHS),
            default=PATHS[0],
            show_default=True,
            help="snapshot: a new cluster from a snapshot; in-place: the source itself is "
            "converted (v1), moved to db.serverless instances by a failover, same name.",
        ),
        click.option(
            "--instance-class",
            "interim_class",
            help="In place, from Serverless v1: the provisioned class of the conversion "
            "(default: AWS's class for the v1 maximum capacity).",
        ),
        click.option(
            "--min-acu", type=float, help="Serverless v2 minimum (0, 0.5 ... 256; default from v1)."
        ),
        click.option(
            "--max-acu", type=float, help="Serverless v2 maximum (1 ... 256; default from v1)."
        ),
        click.option(
            "--seconds-until-auto-pause",
            type=int,
            help="With a 0 ACU minimum: idle seconds before pausing (300-86400).",
        ),
        click.option(
            "--readers",
            type=int,
            default=0,
            show_default=True,
            help="db.serverless readers, spread over AZs.",
        ),
        click.option("--snapshot", help="Reuse this cluster snapshot instead of taking one."),
        click.option(
            "--engine-version",
            help="Target version (default: the snapshot's, or the first with v2).",
        ),
        click.option("--kms-key-id", help="Re-encrypt the copy with this KMS key."),
        click.option(
            "--db-cluster-parameter-group",
            "parameter_group",
            help="Cluster parameter group for the target.",
        ),
        click.option(
            "--engine-lifecycle-support",
            type=click.Choice(lifecycles),
            help="Extended Support enrolment of the target (default: AWS's, which enrols).",
        ),
        click.option(
            "--manage-master-password",
            "manage_master_user_password",
            is_flag=True,
            help="Keep the master password in Secrets Manager.",
        ),
        click.option(
            "--performance-insights/--no-performance-insights",
            default=None,
            help="Default: as the source.",
        ),
        click.option(
            "--log-exports",
            callback=_parse_list,
            help="CloudWatch log exports, comma separated ('' for none).",
        ),
        click.option(
            "--bridge-instance-class",
            default="db.r6g.large",
            show_default=True,
            help="Provisioned writer used once after a major upgrade.",
        ),
        click.option(
            "--cutover",
            type=click.Choice([NO_CUTOVER, *MODES]),
            default=NO_CUTOVER,
            show_default=True,
            help="How clients will move.",
        ),
        click.option(
            "--dns-zone-id", help="Route 53 hosted zone of the record clients use (--cutover dns)."
        ),
        click.option("--dns-name", help="The record clients use (--cutover dns)."),
        click.option(
            "--catch-up",
            type=click.Choice(["none", "logical"]),
            default="none",
            show_default=True,
            help="logical: the copy follows the source by logical replication from the "
            "snapshot's LSN until the cutover (provisioned or Serverless v2 sources).",
        ),
        click.option(
            "--replica-identity-full",
            is_flag=True,
            help="With --catch-up logical: REPLICA IDENTITY FULL on the tables that have "
            "neither a primary key nor a replica identity.",
        ),
        click.option(
            "--prepare-source",
            is_flag=True,
            help="With --catch-up logical: give the source a parameter group with "
            "rds.logical_replication = 1 and reboot its writer (a short outage).",
        ),
        click.option(
            "--max-retained-wal-gb",
            type=float,
            default=100.0,
            show_default=True,
            help="With --catch-up logical: end the catch-up (drop its slots) rather than "
            "let them hold more of the source's WAL than this.",
        ),
        click.option(
            "--tag",
            "tags",
            multiple=True,
            callback=_parse_tags,
            metavar="KEY=VALUE",
            help="Extra tag on what is created (repeatable).",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def options_from(kwargs: dict[str, Any]) -> PlanOptions:
    """A :class:`PlanOptions` from the parsed plan options (removed from ``kwargs``)."""
    names = {f.name for f in fields(PlanOptions)}
    values = {k: kwargs.pop(k) for k in list(kwargs) if k in names}
    values["cutover"] = values.get("cutover") or NO_CUTOVER
    return PlanOptions(**values)


@click.command(short_help="Inspect a source cluster, run the preflight, print the plan.")
@plan_options
@click.option(
    "--plan-file",
    type=click.Path(dir_okay=False, writable=True),
    help="Also write the plan JSON here (for migrate --plan-file).",
)
@click.option(
    "--compare",
    is_flag=True,
    help="Show the snapshot path and the in-place path side by side for SOURCE "
    "(no --target needed); changes nothing.",
)
@global_options
def plan(source: str, plan_file: str | None, compare: bool, **kwargs: Any) -> None:
    """Inspect SOURCE (read-only), run the preflight and print what a migration
    to --target would do. Changes nothing.

    Exit 0 when the plan can run, 4 when a finding blocks it, 2 on bad input.
    """
    app = app_context()
    configure_logging(app)
    if compare:
        found = commands.plan_compare(app.config(), source, options_from(kwargs))
        emit(app, found.to_dict(), lambda: compare_report.table(found))
        return
    done = commands.plan(app.config(), source, options_from(kwargs), plan_file=plan_file)
    emit(app, done.plan.to_dict(), lambda: plan_report.table(done.plan))
    if plan_file and done.blocked is None:
        click.echo(f"plan written to {plan_file}", err=True)
    if done.blocked is not None:
        raise done.blocked

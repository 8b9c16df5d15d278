"""``snapmigrate migrate`` (plan, ask, apply; ``--resume``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import click

from snapmigrate import commands
from snapmigrate.cli import AppContext, app_context, configure_logging, emit, global_options
from snapmigrate.cli.options import (
    ask,
    given,
    state_dir_option,
    terminal_asker,
    terminal_check,
    yes_option,
)
from snapmigrate.cli.plan import options_from, plan_options
from snapmigrate.migrate.context import DEFAULT_TIMEOUTS, RunSettings
from snapmigrate.migrate.runner import RunResult
from snapmigrate.model import Plan
from snapmigrate.plan.options import IN_PLACE
from snapmigrate.progress import parse_duration
from snapmigrate.report import cutover as cutover_report
from snapmigrate.report import plan as plan_report
from snapmigrate.report import run as run_report


def parse_step_timeouts(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, float]:
    """``STEP=MINUTES`` items as seconds per step."""
    found = {}
    for item in values:
        name, sep, minutes = item.partition("=")
        if not sep or name not in DEFAULT_TIMEOUTS:
            raise click.BadParameter(
                f"{item!r} is not STEP=MINUTES with STEP one of {', '.join(DEFAULT_TIMEOUTS)}",
                ctx=ctx,
                param=param,
            )
        try:
            value = float(minutes)
        except ValueError:
            raise click.BadParameter(
                f"{item!r}: {minutes!r} is not a number of minutes", ctx=ctx, param=param
            ) from None
        if value <= 0:
            raise click.BadParameter(f"{item!r}: minutes must be positive", ctx=ctx, param=param)
        found[name] = value * 60
    return found


def _settings(
    no_connect: bool,
    timeout_minutes: float | None,
    step_timeouts: dict[str, float],
    freeze_before_snapshot: bool,
) -> RunSettings:
    timeouts = {name: timeout_minutes * 60 for name in DEFAULT_TIMEOUTS} if timeout_minutes else {}
    timeouts.update(step_timeouts)
    return RunSettings(
        connect=not no_connect, timeouts=timeouts, freeze_before_snapshot=freeze_before_snapshot
    )


@click.command(
    short_help="Plan, ask, then apply: snapshot, restore as Serverless v2, instances, settings, "
    "verify."
)
@plan_options
@click.option(
    "--plan-file",
    type=click.Path(dir_okay=False),
    help="Apply this plan (from 'snapmigrate plan --plan-file') instead of planning again.",
)
@yes_option
@click.option("--resume", "resume", metavar="RUN_ID", help="Continue an interrupted or failed run.")
@click.option(
    "--no-connect",
    is_flag=True,
    help="Skip the SQL probe, the write counters and the verification "
    "(no network path to the databases).",
)
@click.option(
    "--timeout-minutes",
    type=click.FloatRange(min=0, min_open=True),
    help="Give up waiting after this long, for every wait (default: sized per step for real AWS).",
)
@click.option(
    "--step-timeout",
    "step_timeouts",
    multiple=True,
    callback=parse_step_timeouts,
    metavar="STEP=MINUTES",
    help="Wait limit of one step (repeatable), e.g. snapshot=600.",
)
@click.option(
    "--freeze-before-snapshot",
    is_flag=True,
    help="Make the source read-only before the snapshot, until the cutover: "
    "a copy that misses no write.",
)
@click.option(
    "--max-write-outage",
    metavar="DURATION",
    help="In place: stop before the next disruptive step (conversion, upgrade, failover) once "
    "a measured write outage was longer than this (e.g. 30s, 2m, 500ms).",
)
@state_dir_option
@global_options
def migrate(
    source: str | None,
    plan_file: str | None,
    yes: bool,
    resume: str | None,
    no_connect: bool,
    timeout_minutes: float | None,
    step_timeouts: dict[str, float],
    freeze_before_snapshot: bool,
    max_write_outage: str | None,
    state_dir: str | None,
    **kwargs: Any,
) -> None:
    """Migrate SOURCE to a new Serverless v2 cluster --target: plan (as 'snapmigrate
    plan' does), print the plan, ask (or --yes), then apply it step by step,
    journaled in --state-dir. Re-running, or --resume RUN_ID after a crash or
    Ctrl-C, continues without duplicating anything.

    With --cutover dns|rename the cutover follows the migration (see
    'snapmigrate cutover'); with --freeze-before-snapshot the source is
    read-only from before the snapshot until the cutover, so no write is lost.

    Exit 0 done, 1 failed while running, 2 bad input (nothing changed),
    3 verification found differences, 4 preflight blocked, 130 interrupted.
    """
    app = app_context()
    configure_logging(app)
    config = app.config(state_dir)
    target = kwargs.get("target")
    plan_flags = [name for name in kwargs if name != "target" and given(name)]
    settings = _settings(no_connect, timeout_minutes, step_timeouts, freeze_before_snapshot)
    if max_write_outage is not None:
        least = timedelta(milliseconds=1)  # the lab's outages are tenths of a second
        limit = parse_duration(max_write_outage, "--max-write-outage", minimum=least)
        settings = replace(settings, max_write_outage_s=limit.total_seconds())
    chained = None if yes else ask
    if resume:
        done = commands.resume(
            config,
            resume,
            source=source,
            target=target,
            plan_given=bool(plan_file or plan_flags),
            settings=settings,
            confirm_cutover=chained,
            can_ask=None if yes else terminal_check("the cutover the run's plan chains"),
            on_migrated=lambda result: _show_run(app, result),
        )
    else:
        in_place = kwargs.get("path") == IN_PLACE
        options = options_from({**kwargs}) if target or in_place else None
        done = commands.migrate(
            config,
            source,
            options,
            plan_file=plan_file,
            given=plan_flags,
            settings=settings,
            confirm=terminal_asker(yes, "migrate creates AWS resources and"),
            confirm_cutover=chained,
            on_plan=lambda plan: _show_plan(app, plan, yes),
            on_migrated=lambda result: _show_run(app, result),
        )
    if done.cutover is not None:
        data = done.cutover.to_dict()
        emit(app, {**done.run.to_dict(), "cutover": data}, lambda: cutover_report.table(data))
        return
    emit(app, done.run.to_dict(), lambda: run_report.table(done.run))


def _show_plan(app: AppContext, plan: Plan, yes: bool) -> None:
    """The plan before it is applied: on stdout, or on stderr when stdout is JSON."""
    shown = plan_report.table(plan)
    if app.json:
        if not app.quiet or not yes:
            click.echo(shown, err=True)
    else:
        click.echo(shown)


def _show_run(app: AppContext, result: RunResult) -> None:
    """The migration's table before its cutover begins (JSON comes once, at the end)."""
    if not app.json:
        click.echo(run_report.table(result))


# ``--resume RUN_ID`` and ``--plan-file`` need neither SOURCE nor --target.
for _param in migrate.params:
    if _param.name in ("source", "target"):
        _param.required = False

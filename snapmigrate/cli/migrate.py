"""``snapmigrate migrate`` (plan, ask, apply; ``--resume``) and ``snapmigrate status``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from snapmigrate.cli import AppContext, app_context, configure_logging, emit, global_options
from snapmigrate.cli.plan import options_from, plan_options
from snapmigrate.cutover.swap import planned_swap

F = TypeVar("F", bound=Callable[..., Any])


def state_dir_option(f: F) -> F:
    return click.option(
        "--state-dir",
        envvar="SNAPMIGRATE_STATE_DIR",
        type=click.Path(file_okay=False),
        help="Where run journals live (default ./.snapmigrate).",
    )(f)


def _parse_step_timeouts(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, float]:
    from snapmigrate.migrate.context import DEFAULT_TIMEOUTS

    found = {}
    for item in values:
        name, sep, minutes = item.partition("=")
        if not sep or name not in DEFAULT_TIMEOUTS:
            raise click.BadParameter(f"{item!r} is not STEP=MINUTES with STEP one of {', '.join(DEFAULT_TIMEOUTS)}", ctx=ctx, param=param)
        try:
            value = float(minutes)
        except ValueError:
            raise click.BadParameter(f"{item!r}: {minutes!r} is not a number of minutes", ctx=ctx, param=param) from None
        if value <= 0:
            raise click.BadParameter(f"{item!r}: minutes must be positive", ctx=ctx, param=param)
        found[name] = value * 60
    return found


def _given(name: str) -> bool:
    """Whether the user set option ``name`` (on the command line or in the environment)."""
    from click.core import ParameterSource

    source = click.get_current_context().get_parameter_source(name)
    return source in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


def _load_plan_file(path: str) -> Any:
    from snapmigrate.errors import BadInput
    from snapmigrate.files import read_json

    data = read_json(path, "plan file", missing_hint=f"write one with 'snapmigrate plan ... --plan-file {path}'")
    from snapmigrate.migrate import read_plan

    try:
        return read_plan(data)
    except (ValueError, KeyError, TypeError) as e:
        raise BadInput(f"plan file {path} is not a snapmigrate plan ({type(e).__name__}: {e}): make it again with 'snapmigrate plan'") from None


def _confirm(plan: Any, yes: bool, freeze: bool = False) -> None:
    """Ask before changing AWS; without a terminal, only --yes will do."""
    from snapmigrate.errors import BadInput

    if yes:
        return
    if not sys.stdin.isatty():
        raise BadInput("migrate creates AWS resources and asks first, but there is no terminal to ask on: pass --yes; nothing was changed")
    question = f"Apply these {len(plan.steps)} steps to create {plan.target.identifier} from {plan.source.identifier}?"
    if freeze:
        question += f" {plan.source.identifier} becomes READ-ONLY now, until the cutover (or a rollback)."
    if planned_swap(plan.target.cutover) is not None:
        question += f" Then cut over by {plan.target.cutover.mode}."
    if not click.confirm(question, default=False, err=True):
        raise BadInput("not applied: nothing was changed")


def _settings(app: AppContext, no_connect: bool, timeout_minutes: float | None, step_timeouts: dict[str, float],
              freeze_before_snapshot: bool = False) -> Any:
    from snapmigrate.migrate.context import DEFAULT_TIMEOUTS, RunSettings

    timeouts = {name: timeout_minutes * 60 for name in DEFAULT_TIMEOUTS} if timeout_minutes else {}
    timeouts.update(step_timeouts)
    return RunSettings(connect=not no_connect, timeouts=timeouts, connect_map=app.connect_map,
                       freeze_before_snapshot=freeze_before_snapshot)


@click.command(short_help="Plan, ask, then apply: snapshot, restore as Serverless v2, instances, settings, verify.")
@plan_options
@click.option("--plan-file", type=click.Path(dir_okay=False), help="Apply this plan (from 'snapmigrate plan --plan-file') instead of planning again.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (needed without a terminal).")
@click.option("--resume", "resume", metavar="RUN_ID", help="Continue an interrupted or failed run.")
@click.option("--no-connect", is_flag=True, help="Skip the SQL probe, the write counters and the verification (no network path to the databases).")
@click.option("--timeout-minutes", type=click.FloatRange(min=0, min_open=True), help="Give up waiting after this long, for every wait (default: sized per step for real AWS).")
@click.option("--step-timeout", "step_timeouts", multiple=True, callback=_parse_step_timeouts, metavar="STEP=MINUTES", help="Wait limit of one step (repeatable), e.g. snapshot=600.")
@click.option("--freeze-before-snapshot", is_flag=True, help="Make the source read-only before the snapshot, until the cutover: a copy that misses no write.")
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
    from snapmigrate.connectmap import ConnectMap
    from snapmigrate.errors import BadInput
    from snapmigrate.migrate import read_plan
    from snapmigrate.migrate.runner import Runner
    from snapmigrate.report import plan as plan_report
    from snapmigrate.report import run as run_report
    from snapmigrate.waiting import progress_for
    from snapmigrate.workflow.journal import Journal, check_run_id

    app = app_context()
    configure_logging(app)
    ConnectMap.load(app.connect_map)  # a bad map is bad input, found before any change
    target = kwargs.get("target")
    plan_flags = [name for name in kwargs if name != "target" and _given(name)]
    from snapmigrate.migrate.freeze import SourceFreezer

    journal = Journal(state_dir)
    if resume:
        # A run keeps the freeze choice it was started with.
        freeze_before_snapshot = freeze_before_snapshot or bool(journal.load(check_run_id(resume)).settings.get("freeze_before_snapshot"))
    if freeze_before_snapshot and no_connect:
        raise BadInput("--freeze-before-snapshot needs to reach the source's databases: drop --no-connect")
    runner = Runner(
        app.clients(),
        journal,
        settings=_settings(app, no_connect, timeout_minutes, step_timeouts, freeze_before_snapshot),
        progress=progress_for(quiet=app.quiet),
        freezer=SourceFreezer() if freeze_before_snapshot else None,
    )
    if resume:
        record = journal.load(check_run_id(resume))
        if plan_file or plan_flags:
            raise BadInput("--resume continues the run's own plan (in its journal): drop --plan-file and the plan options")
        for given, recorded, what in ((source, record.source, "SOURCE"), (target, record.target, "--target")):
            if given and given.lower() != recorded:
                raise BadInput(f"run {resume} migrates {record.source} -> {record.target}: {what} {given} does not match")
        result = runner.resume(resume)
    else:
        if plan_file:
            if plan_flags:
                raise BadInput(f"--plan-file holds the whole plan: drop --{plan_flags[0].replace('_', '-')}")
            plan = _load_plan_file(plan_file)
            for given, planned, what in ((source, plan.source.identifier, "SOURCE"), (target, plan.target.identifier, "--target")):
                if given and given.lower() != planned:
                    raise BadInput(f"the plan file migrates {plan.source.identifier} -> {plan.target.identifier}: {what} {given} does not match")
        else:
            if not source or not target:
                raise BadInput("give SOURCE and --target (or --plan-file FILE, or --resume RUN_ID)")
            from snapmigrate.plan import make_plan

            plan = make_plan(app.clients(), source, options_from({"target": target, **kwargs}))
        shown = plan_report.table(plan)
        if app.json:
            if not app.quiet or not yes:
                click.echo(shown, err=True)
        else:
            click.echo(shown)
        from snapmigrate.plan import fail_if_blocked

        fail_if_blocked(plan)
        _confirm(plan, yes, freeze_before_snapshot)
        result = runner.start(plan)
    plan_of_run = read_plan(result.record.plan)
    if result.record.state == "done" and planned_swap(plan_of_run.target.cutover) is not None:
        _chain_cutover(app, journal, result, yes)
        return
    emit(app, result.to_dict(), lambda: run_report.table(result))


def _chain_cutover(app: AppContext, journal: Any, result: Any, yes: bool) -> None:
    """``migrate --cutover dns|rename``: cut over right after the migration (asking first)."""
    from snapmigrate.cutover import Cutover
    from snapmigrate.report import cutover as cutover_report
    from snapmigrate.report import run as run_report
    from snapmigrate.waiting import progress_for

    if not app.json:
        click.echo(run_report.table(result))
    asker = None if yes else (lambda question: click.confirm(question, default=False, err=True))
    done = Cutover(app.clients(), journal, connect_map=app.connect_map, progress=progress_for(quiet=app.quiet),
                   confirm=asker).run(result.run_id)
    data = done.to_dict()
    emit(app, {**result.to_dict(), "cutover": data}, lambda: cutover_report.table(data))


# ``--resume RUN_ID`` and ``--plan-file`` need neither SOURCE nor --target.
for _param in migrate.params:
    if _param.name in ("source", "target"):
        _param.required = False


@click.command(short_help="Show a run's journal, or list the runs.")
@click.argument("run_id", required=False)
@state_dir_option
@global_options
def status(run_id: str | None, state_dir: str | None) -> None:
    """Show the journal of RUN_ID (its steps, times, AWS ids, outcome), or,
    without RUN_ID, list the runs in --state-dir. Reads the journal only."""
    from snapmigrate.report import run as run_report
    from snapmigrate.workflow.journal import Journal, check_run_id

    app = app_context()
    configure_logging(app)
    journal = Journal(state_dir)
    if run_id:
        record = journal.load(check_run_id(run_id))
        emit(app, record.to_dict(), lambda: run_report.status_table(record))
        return
    runs = journal.runs()
    data = {
        "state_dir": str(journal.directory),
        "runs": [
            {
                "run_id": r.run_id,
                "state": r.state,
                "source": r.source,
                "target": r.target,
                "created": r.created,
                "updated": r.updated,
                "step": r.current.name if r.current and r.state != "done" else None,
            }
            for r in runs
        ],
    }
    emit(app, data, lambda: run_report.runs_table(runs, str(journal.directory)))

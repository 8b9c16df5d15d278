"""The migration's commands: ``plan``, ``migrate`` (and ``--resume``), ``status``, ``cleanup``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from snapmigrate.clone.journal import find_run
from snapmigrate.commands.catchup import watch
from snapmigrate.commands.config import Config, Confirm
from snapmigrate.commands.cutovers import cutover_for
from snapmigrate.cutover import CutoverResult
from snapmigrate.cutover.state import CutoverState
from snapmigrate.cutover.swap import planned_swap, serving
from snapmigrate.errors import BadInput, NotFound, SnapmigrateError
from snapmigrate.files import atomic_write_json, read_json
from snapmigrate.migrate import IN_PLACE, read_plan
from snapmigrate.migrate.cleanup import CleanupPreview, CleanupResult, preview
from snapmigrate.migrate.context import RunSettings
from snapmigrate.migrate.freeze import SourceFreezer
from snapmigrate.migrate.runner import Runner, RunResult
from snapmigrate.model import Plan
from snapmigrate.plan import fail_if_blocked, make_plan
from snapmigrate.plan.options import PlanOptions
from snapmigrate.workflow.journal import RunRecord, check_run_id


@dataclass(frozen=True)
class PlanResult:
    """A plan, and the error its blocking findings mean (raised once it is shown)."""

    plan: Plan
    blocked: SnapmigrateError | None = None


def plan(
    config: Config, source: str, options: PlanOptions, *, plan_file: str | None = None
) -> PlanResult:
    """Inspect ``source`` (read-only), run the preflight and plan its migration to
    ``options.target``; also write the plan to ``plan_file`` unless it is blocked.
    Changes nothing in AWS."""
    made = make_plan(config.clients(), source, options, connect_map=config.connect_map)
    if plan_file and not made.blocked:
        atomic_write_json(plan_file, made.to_dict())
    try:
        fail_if_blocked(made)
    except SnapmigrateError as e:
        return PlanResult(made, e)
    return PlanResult(made)


@dataclass(frozen=True)
class MigrateResult:
    """A migration run, and its cutover when the plan chains one (``--cutover``)."""

    run: RunResult
    cutover: CutoverResult | None = None


def migrate(
    config: Config,
    source: str | None,
    options: PlanOptions | None,
    *,
    plan_file: str | None = None,
    given: Sequence[str] = (),
    settings: RunSettings | None = None,
    confirm: Confirm | None = None,
    confirm_cutover: Confirm | None = None,
    on_plan: Callable[[Plan], None] | None = None,
    on_migrated: Callable[[RunResult], None] | None = None,
) -> MigrateResult:
    """Plan (as :func:`plan` does) or read ``plan_file``, show the plan (``on_plan``),
    ask (``confirm``; None means ``--yes``), then apply it step by step, journaled.
    A plan with a cutover then cuts over (``confirm_cutover`` asks).

    ``given`` names the plan options the user set: with ``plan_file`` they are
    bad input (the file holds the whole plan).
    """
    config.check_connect_map()
    settings = _settings(config, settings)
    if plan_file:
        if given:
            raise BadInput(f"--plan-file holds the whole plan: drop --{given[0].replace('_', '-')}")
        chosen = read_plan_file(plan_file)
        target = options.target if options else None
        _check_names(
            "the plan file", chosen.source.identifier, chosen.target.identifier, source, target
        )
    else:
        if not source or options is None or not (options.target or options.path == IN_PLACE):
            raise BadInput("give SOURCE and --target (or --plan-file FILE, or --resume RUN_ID)")
        _check_catch_up(options.catch_up == "logical", settings)
        chosen = make_plan(config.clients(), source, options, connect_map=config.connect_map)
    _check_catch_up(chosen.target.catch_up.logical, settings)
    if on_plan is not None:
        on_plan(chosen)
    fail_if_blocked(chosen)
    if confirm is not None and not confirm(_question(chosen, settings.freeze_before_snapshot)):
        raise BadInput("not applied: nothing was changed")
    result = _runner(config, settings).start(chosen)
    return _then_cut_over(config, result, confirm_cutover, on_migrated)


def resume(
    config: Config,
    run_id: str,
    *,
    source: str | None = None,
    target: str | None = None,
    plan_given: bool = False,
    settings: RunSettings | None = None,
    confirm_cutover: Confirm | None = None,
    can_ask: Callable[[], None] | None = None,
    on_migrated: Callable[[RunResult], None] | None = None,
) -> MigrateResult:
    """Continue run ``run_id`` from AWS plus its journal (and cut over, when its
    plan chains a cutover). ``source``/``target``, when given, must be the run's;
    ``plan_given`` (a plan file or plan options) is bad input: a run keeps its
    plan, and the freeze choice it was started with. ``can_ask`` raises, before
    anything changes, when ``confirm_cutover`` could not ask (no terminal) and the
    plan chains a cutover."""
    config.check_connect_map()
    record = config.journal().load(check_run_id(run_id))
    frozen = RunSettings.from_dict(record.settings).freeze_before_snapshot
    settings = settings or RunSettings()
    settings = replace(settings, freeze_before_snapshot=settings.freeze_before_snapshot or frozen)
    settings = _settings(config, settings)
    if plan_given:
        raise BadInput(
            "--resume continues the run's own plan (in its journal): "
            "drop --plan-file and the plan options"
        )
    _check_names(f"run {run_id}", record.source, record.target, source, target)
    plan = read_plan(record.plan)
    _check_catch_up(plan.target.catch_up.logical, settings)
    if can_ask is not None and planned_swap(plan.target.cutover) is not None:
        can_ask()
    result = _runner(config, settings).resume(run_id)
    return _then_cut_over(config, result, confirm_cutover, on_migrated)


def status(config: Config, run_id: str | None = None) -> RunRecord | list[RunRecord]:
    """The journal of ``run_id``, or every run in the state directory (newest first).
    A run with a logical catch-up is measured now, and its catch-up ended past its
    threshold (:func:`snapmigrate.commands.catchup.watch`)."""
    journal = config.journal()
    if run_id:
        try:
            record = journal.load(check_run_id(run_id))
        except NotFound:
            made = find_run(config.state_dir, run_id)  # a clone's create or reset
            if made is None:
                raise
            return made
        return watch(config, record)
    return journal.runs()


def cleanup(
    config: Config,
    run_id: str,
    *,
    keep_snapshot: bool = False,
    skip_final_snapshot: bool = False,
    timeout_minutes: float | None = None,
    confirm: Confirm | None = None,
) -> CleanupResult:
    """Delete what run ``run_id`` created -- only resources carrying its tag, last
    step first; a planned name held by anything else stops it before any deletion.
    The cluster goes after a final snapshot (``<cluster>-final-<run>``) unless it was
    created disposable or ``skip_final_snapshot``. A run whose cutover happened and
    was not rolled back is refused (exit 2, nothing changed): its target is live."""
    try:
        record = config.journal().load(check_run_id(run_id))
    except NotFound:
        made = find_run(config.state_dir, run_id)
        if made is None:
            raise
        # Clones go one way: clone destroy (it refuses a protected clone).
        raise BadInput(
            f"run {run_id} made clone {made.target}: delete it with 'snapmigrate clone destroy "
            f"{made.target}'; nothing was changed"
        ) from None
    refuse_live(record)
    refuse_in_place(record)
    timeouts = {"cleanup": timeout_minutes * 60} if timeout_minutes else {}
    # No probe, no verification -- but a catch-up's slots are dropped through the databases.
    settings = RunSettings(
        connect=False,
        timeouts=timeouts,
        skip_final_snapshot=skip_final_snapshot,
        connect_map=config.connect_map,
    )
    runner = Runner(config.clients(), config.journal(), settings=settings, progress=config.progress)
    if confirm is not None:
        question = _cleanup_question(record, preview(runner, run_id), keep_snapshot)
        if read_plan(record.plan).target.catch_up.logical:
            question += (
                f" Its subscriptions, replication slots and publications on {record.source} "
                "are dropped too."
            )
        if not confirm(question):
            raise BadInput("not cleaned: nothing was changed")
    return runner.cleanup(run_id, keep_snapshot=keep_snapshot)


def refuse_live(record: RunRecord) -> None:
    """Bad input (exit 2) when run ``record``'s target serves clients -- cut over and not
    rolled back -- or its cutover stopped half way: ``cleanup`` would delete it."""
    state = CutoverState.of(record.cutover)
    run_id = record.run_id
    if state.live:
        live = serving(read_plan(record.plan), run_id, state)
        raise BadInput(
            f"run {run_id} was cut over at {state.finished} ({state.mode}): {live}. cleanup "
            "would delete the live database; nothing was changed. To go back, run "
            f"'snapmigrate rollback {run_id}' first (cleanup then deletes the copy); to stay, "
            "keep it and retire the old source yourself"
        )
    if state.under_way:
        raise BadInput(
            f"run {run_id} has an unfinished cutover ({state.state}): the clients may be on "
            f"either cluster; finish it with 'snapmigrate cutover {run_id}' or roll it back "
            f"with 'snapmigrate rollback {run_id}' first; nothing was changed"
        )


def refuse_in_place(record: RunRecord) -> None:
    """An in-place run changed the source itself: there is no copy to delete."""
    if (record.plan.get("target") or {}).get("path") != IN_PLACE:
        return
    raise BadInput(
        f"run {record.run_id} changed {record.source} in place: there is no copy to delete and "
        "cleanup never deletes the source; nothing was changed. Its safety snapshot "
        f"({record.source}-before-in-place-{record.run_id}) stays until you delete it"
    )


def _cleanup_question(record: RunRecord, seen: CleanupPreview, keep_snapshot: bool) -> str:
    """What the cleanup deletes, what the cluster is, and whether a final snapshot stays."""
    snapshot = "its instances and the run's snapshot"
    if keep_snapshot:
        snapshot = "its instances (keeping the run's snapshot)"
    if seen.deletion is None:
        return f"Delete what run {record.run_id} created ({record.target} is gone): {snapshot}?"
    cutover = CutoverState.of(record.cutover)
    what = (
        f"a {seen.role or 'resource'} of run {record.run_id}, disposable"
        if seen.disposable
        else f"the target of run {record.run_id}, not live: "
        + (
            f"its cutover was rolled back at {cutover.rolled_back_at or cutover.finished}"
            if cutover.state == "rolled-back"
            else "it was never cut over"
        )
    )
    final = seen.deletion.final_snapshot
    kept = (
        f"A final snapshot {final} is taken first, and kept."
        if final
        else f"{seen.deletion.note.capitalize()}."
    )
    return f"Delete {seen.target} ({what}), {snapshot}? {kept}"


# -- helpers ------------------------------------------------------------------


def _settings(config: Config, settings: RunSettings | None) -> RunSettings:
    settings = replace(settings or RunSettings(), connect_map=config.connect_map)
    if settings.freeze_before_snapshot and not settings.connect:
        raise BadInput(
            "--freeze-before-snapshot needs to reach the source's databases: drop --no-connect"
        )
    return settings


def _check_catch_up(logical: bool, settings: RunSettings) -> None:
    """A catch-up reaches both clusters' databases, and leaves the source writable."""
    if not logical:
        return
    if not settings.connect:
        raise BadInput("--catch-up logical works through the databases: drop --no-connect")
    if settings.freeze_before_snapshot:
        raise BadInput(
            "--freeze-before-snapshot and --catch-up logical are two ways to lose no write: "
            "choose one (the catch-up keeps the source writable until the cutover)"
        )


def _runner(config: Config, settings: RunSettings) -> Runner:
    return Runner(
        config.clients(),
        config.journal(),
        settings=settings,
        clock=config.clock,
        progress=config.progress,
        freezer=SourceFreezer() if settings.freeze_before_snapshot else None,
    )


def read_plan_file(path: str) -> Plan:
    """The plan a ``--plan-file`` holds (bad input when it is missing or not a plan)."""
    hint = f"write one with 'snapmigrate plan ... --plan-file {path}'"
    data = read_json(path, "plan file", missing_hint=hint)
    try:
        return read_plan(data)
    except (ValueError, KeyError, TypeError) as e:
        raise BadInput(
            f"plan file {path} is not a snapmigrate plan ({type(e).__name__}: {e}): "
            "make it again with 'snapmigrate plan'"
        ) from None


def _check_names(
    what: str, source: str, target: str, given_source: str | None, given_target: str | None
) -> None:
    """Bad input when SOURCE or --target, given, are not those of the plan or run."""
    for given, planned, flag in (
        (given_source, source, "SOURCE"),
        (given_target, target, "--target"),
    ):
        if given and given.lower() != planned:
            raise BadInput(f"{what} migrates {source} -> {target}: {flag} {given} does not match")


def _question(plan: Plan, freeze: bool) -> str:
    source, target = plan.source.identifier, plan.target.identifier
    if plan.target.path == IN_PLACE:
        return (
            f"Apply these {len(plan.steps)} steps to {source} IN PLACE? The steps marked "
            "CANNOT be undone change it for good (the way back is its safety snapshot), and "
            "writes stop briefly at the conversion and the failover."
        )
    question = f"Apply these {len(plan.steps)} steps to create {target} from {source}?"
    if freeze:
        question += f" {source} becomes READ-ONLY now, until the cutover (or a rollback)."
    prepare = plan.target.catch_up.prepare
    if prepare is not None:
        question += (
            f" {source}'s writer {prepare.writer} REBOOTS first (--prepare-source: its "
            "connections drop for a moment)."
        )
    if plan.target.catch_up.logical:
        question += f" {target} then follows {source} by logical replication until the cutover."
    swap = planned_swap(plan.target.cutover)
    if swap is not None:
        question += f" Then cut over by {swap.mode}."
    return question


def _then_cut_over(
    config: Config,
    result: RunResult,
    confirm: Confirm | None,
    on_migrated: Callable[[RunResult], None] | None,
) -> MigrateResult:
    """``migrate --cutover dns|rename``: cut over right after the migration."""
    planned = read_plan(result.record.plan).target.cutover
    if result.record.state != "done" or planned_swap(planned) is None:
        return MigrateResult(result)
    if on_migrated is not None:
        on_migrated(result)
    return MigrateResult(result, cutover_for(config, confirm).run(result.run_id))

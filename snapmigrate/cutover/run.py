"""Cut clients over to the migrated cluster -- and back.

A snapshot-restore cutover is honest about writes: anything written to the
source after the snapshot is not in the copy. So, for a run that ``migrate``
finished, the cutover workflow (:data:`~snapmigrate.cutover.steps.CUTOVER`)
runs its steps through the one loop, journaled as the run's cutover phases:

1. **guardrails**, all checked before anything changes (then it asks);
2. **freeze** the source; 3. **catch-up**: a stale copy stops here;
4. **verify**; 5. **swap** (the mode's strategy); 6. **prove**.

A failure or timeout after the freeze rolls back: the steps' ``undo`` in
reverse order (swap back, unfreeze). ``rollback`` does the same for a
finished cutover, and counts the writes the target took since.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from snapmigrate.aws import Aws, Clients
from snapmigrate.connectmap import ConnectMap
from snapmigrate.cutover import dataplane
from snapmigrate.cutover.context import CutoverContext, endpoints
from snapmigrate.cutover.options import resolve_options
from snapmigrate.cutover.state import (
    CutoverOptions,
    CutoverState,
    PhaseRecord,
    seconds_between,
    stamp,
)
from snapmigrate.cutover.steps import CUTOVER, Basis, frozen_now
from snapmigrate.cutover.steps.catchup import finish
from snapmigrate.cutover.swap import journaled, swap_for
from snapmigrate.errors import BadInput, Interrupted, OperationFailed, SnapmigrateError
from snapmigrate.migrate import read_plan
from snapmigrate.migrate.catchup import CatchUpDetails
from snapmigrate.migrate.snapshot import SnapshotDetails
from snapmigrate.model import Plan, PlannedStep
from snapmigrate.records import to_json
from snapmigrate.waiting import Clock, Progress, SystemClock, Waiter
from snapmigrate.workflow.journal import Journal, RunRecord
from snapmigrate.workflow.runner import EventHook, no_events, run_steps
from snapmigrate.workflow.step import Outcome

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CutoverResult:
    """The run and its cutover section, as this invocation left them."""

    record: RunRecord
    note: str = ""

    @property
    def state(self) -> CutoverState:
        return CutoverState.of(self.record.cutover)

    def to_dict(self) -> dict[str, Any]:
        c = self.state
        return {
            "run_id": self.record.run_id,
            "source": self.record.source,
            "target": self.record.target,
            "mode": c.mode,
            "state": c.state,
            "started": c.started,
            "finished": c.finished,
            "frozen_at": c.frozen_at,
            "writable_at": c.writable_at,
            "unavailable_s": c.unavailable_s,
            "guardrails": to_json(c.guardrails or ()),
            "phases": to_json(c.phases or ()),
            "verification": to_json(c.verification),
            "drift": to_json(c.drift),
            "swap": journaled(c, read_plan(self.record.plan), self.record.run_id),
            "identity": to_json(c.identity),
            "rollback": to_json(c.rollback),
            "writes_since_cutover": to_json(c.writes_since_cutover),
            "catch_up": _catch_up_json(c),
            "error": c.error,
            "note": self.note,
        }


class PhasesSection:
    """The cutover's phases in the journal (a :class:`~snapmigrate.workflow.runner.Section`)."""

    def __init__(self, ctx: CutoverContext, say: Callable[[str], None]) -> None:
        self.ctx = ctx
        self.say = say

    def _entry(self, name: str) -> PhaseRecord:
        return self.ctx.state.phase(name) or PhaseRecord(name)

    def _save(self, entry: PhaseRecord) -> None:
        self.ctx.save(self.ctx.state.with_phase(entry))

    def begin(self, n: int, total: int, step: PlannedStep) -> None:
        """Nothing to note before a phase is looked at."""

    def confirmed(self, n: int, total: int, step: PlannedStep, ids: Mapping[str, str]) -> None:
        self.say(f"[{step.name}] done earlier: {self._entry(step.name).outcome}")

    def started(self, n: int, total: int, step: PlannedStep) -> None:
        if self.ctx.deadline is not None:
            self.ctx.remaining()  # past the deadline: a timeout, which rolls back
        entry = self._entry(step.name)
        self._save(
            replace(
                entry,
                state="running",
                started=stamp(),
                finished=None,
                outcome=None,
                attempts=entry.attempts + 1,
            )
        )

    def failed(self, step: PlannedStep, error: BaseException) -> None:
        why = str(error) or type(error).__name__
        self._save(replace(self._entry(step.name), state="failed", finished=stamp(), outcome=why))

    def finished(self, n: int, total: int, step: PlannedStep, outcome: Outcome) -> None:
        entry = replace(
            self._entry(step.name), state="done", finished=stamp(), outcome=outcome.summary
        )
        took = round(
            seconds_between(entry.started or entry.finished or "", entry.finished or ""), 3
        )
        self._save(replace(entry, took_s=took))
        self.say(f"[{step.name}] {outcome.summary}")


class Cutover:
    """Runs (and resumes, and rolls back) the cutover of a migration run."""

    def __init__(
        self,
        clients: Clients | Aws,
        journal: Journal,
        *,
        connect_map: str | None = None,
        clock: Clock | None = None,
        progress: Progress | None = None,
        say: Callable[[str], None] | None = None,
        confirm: Callable[[str], bool] | None = None,
        on_event: EventHook | None = None,
    ) -> None:
        self.clock = clock or SystemClock()
        self.aws = Aws.of(clients)
        self.journal = journal
        self.connect_map_path = connect_map
        self.waiter = Waiter(clock=self.clock, progress=progress)
        self.say = say or log.info
        self.confirm = confirm
        self.on_event = on_event or no_events

    @property
    def clients(self) -> Clients:
        return self.aws.clients

    # -- entry points -------------------------------------------------------

    def run(self, run_id: str, options: CutoverOptions | None = None) -> CutoverResult:
        """Cut run ``run_id`` over (or resume its unfinished cutover)."""
        record = self.journal.load(run_id)
        if record.state != "done":
            raise BadInput(
                f"run {run_id} is not migrated yet (state {record.state}): finish it with "
                f"'snapmigrate migrate --resume {run_id}' first"
            )
        plan = read_plan(record.plan)
        earlier = CutoverState.of(record.cutover)
        if earlier.state == "done":
            note = f"run {run_id} was already cut over at {earlier.finished}: nothing to do"
            if _catch_up_running(record, plan):  # its end failed then: finish it now
                with self.journal.lock(run_id):
                    ctx = self._context(record, plan, earlier.options or CutoverOptions(mode=""))
                    dropped = finish(ctx, "cut over")
                    record = ctx.record
                note = f"run {run_id} was already cut over; its catch-up ended now: " + (
                    ", ".join(dropped) or "nothing left to drop"
                )
            return CutoverResult(record, note=note)
        if earlier.state == "rolled-back":
            earlier = CutoverState(history=(*(earlier.history or ()), earlier.attempt()))
        options = resolve_options(options, plan.target.cutover, earlier)
        with self.journal.lock(run_id):
            resumed = earlier.unfinished and earlier.freeze is not None
            state = replace(
                earlier,
                mode=options.mode,
                options=options,
                state="running",
                started=earlier.started if resumed else stamp(),
                error=None,
                phases=earlier.phases or () if resumed else (),
            )
            record = replace(record, cutover=state.to_dict())
            self.journal.save(record)
            return self._run(self._context(record, plan, options), resumed=resumed)

    def rollback(self, run_id: str) -> CutoverResult:
        """Undo the cutover (swap back, unfreeze), or lift a freeze made before the snapshot."""
        record = self.journal.load(run_id)
        plan = read_plan(record.plan)
        state = CutoverState.of(record.cutover)
        running = _catch_up_running(record, plan)
        if state.freeze is None and SnapshotDetails.of(record).freeze is None and running:
            return self._end_catch_up(record, plan, state)
        if state.freeze is None and SnapshotDetails.of(record).freeze is None:
            last = (
                f" (its last cutover attempt was {state.state} before changing anything)"
                if state.state
                else ""
            )
            raise BadInput(f"run {run_id} has no cutover (and no freeze) to roll back{last}")
        options = state.options or CutoverOptions(mode=state.mode or "")
        with self.journal.lock(run_id):
            ctx = self._context(record, plan, options)
            then = state.target_counters if state.state == "done" else None
            writes = dataplane.writes_since(ctx, then) if then is not None else None
            if writes:
                self.say(
                    f"WARNING: {sum(w.total for w in writes)} row change(s) in {len(writes)} "
                    f"table(s) landed on {plan.target.identifier} after the cutover; they are NOT "
                    "copied back to the source and will be lost to clients after the rollback"
                )
            if self.confirm is not None and not self.confirm(_rollback_question(ctx, writes)):
                raise BadInput("not rolled back: nothing was changed")
            lines = self._undo(ctx, state.mode)
            if running:
                lines.append(f"catch-up: {', '.join(finish(ctx, 'rolled back')) or 'ended'}")
            ctx.save(
                replace(
                    ctx.state,
                    state="rolled-back",
                    rolled_back_at=stamp(),
                    rollback=tuple(lines),
                    # a repeated rollback keeps the first count
                    writes_since_cutover=writes
                    if writes is not None
                    else ctx.state.writes_since_cutover,
                )
            )
            return CutoverResult(ctx.record, note="; ".join(lines))

    def _end_catch_up(self, record: RunRecord, plan: Plan, state: CutoverState) -> CutoverResult:
        """``rollback`` of a run not cut over: end its catch-up, nothing else."""
        options = state.options or CutoverOptions(mode=state.mode or "")
        with self.journal.lock(record.run_id):
            ctx = self._context(record, plan, options)
            question = (
                f"End run {record.run_id}'s catch-up: drop its subscriptions on "
                f"{plan.target.identifier} and its slots and publications on "
                f"{plan.source.identifier}? (A cutover then needs a new migration.)"
            )
            if self.confirm is not None and not self.confirm(question):
                raise BadInput("not rolled back: nothing was changed")
            dropped = finish(ctx, "rolled back")
            line = "catch-up: " + (", ".join(dropped) or "ended")
            if state.state:  # an attempt that stopped before the freeze: it is over too
                ctx.save(
                    replace(
                        ctx.state, state="rolled-back", rolled_back_at=stamp(), rollback=(line,)
                    )
                )
        return CutoverResult(ctx.record, note=line)

    # -- the sequence -------------------------------------------------------

    def _context(self, record: RunRecord, plan: Plan, options: CutoverOptions) -> CutoverContext:
        source, target = endpoints(self.aws, plan, record.run_id)
        return CutoverContext(
            aws=self.aws,
            journal=self.journal,
            record=record,
            plan=plan,
            options=options,
            waiter=self.waiter,
            connect_map=ConnectMap.load(self.connect_map_path),
            source=source,
            target=target,
            say=self.say,
            clock=self.clock.monotonic,
        )

    def _run(self, ctx: CutoverContext, *, resumed: bool) -> CutoverResult:
        frozen = resumed and frozen_now(ctx)
        catch_up = ctx.plan.target.catch_up.logical
        planned = CUTOVER.plan(Basis(ctx.options, after_freeze=frozen, catch_up=catch_up))
        first, rest = planned[:1], planned[1:]
        section = PhasesSection(ctx, self.say)
        try:
            run_steps(CUTOVER, ctx, first, section, on_event=self.on_event)
            if not frozen and self.confirm is not None and not self.confirm(_question(ctx)):
                ctx.save(replace(ctx.state, state="cancelled", finished=stamp()))
                raise BadInput("not cut over: nothing was changed")
        except KeyboardInterrupt:
            nothing = "interrupted before the freeze: nothing was changed"
            ctx.save(replace(ctx.state, state="interrupted", finished=stamp(), error=nothing))
            raise Interrupted(f"cutover of run {ctx.run_id} {nothing}") from None
        except SnapmigrateError as e:
            if ctx.state.state == "running":
                ctx.save(replace(ctx.state, state="blocked", finished=stamp(), error=str(e)))
            raise
        ctx.deadline = self.clock.monotonic() + ctx.options.limit_s
        try:
            run_steps(CUTOVER, ctx, rest, section, on_event=self.on_event)
        except KeyboardInterrupt:
            self._fail(ctx, "interrupted by the user")
            raise Interrupted(f"cutover of run {ctx.run_id} interrupted and rolled back") from None
        except SnapmigrateError as e:
            self._fail(ctx, str(e))
            raise
        except Exception as e:
            self._fail(ctx, f"internal error: {type(e).__name__}: {e}")
            raise
        state = ctx.state
        assert state.frozen_at is not None and state.writable_at is not None
        unavailable = round(seconds_between(state.frozen_at, state.writable_at), 3)
        counters = dataplane.target_counters(ctx)
        ctx.save(
            replace(
                ctx.state,
                state="done",
                finished=stamp(),
                unavailable_s=unavailable,
                target_counters=counters,
            )
        )
        self.say(f"cut over: writes were unavailable for {unavailable:.1f} s")
        return CutoverResult(ctx.record)

    def _fail(self, ctx: CutoverContext, reason: str) -> None:
        """After the freeze, any failure rolls back: swap back, unfreeze."""
        if ctx.state.freeze is None:
            ctx.save(replace(ctx.state, state="failed", finished=stamp(), error=reason))
            return
        self.say(f"cutover failed ({reason}): rolling back")
        ctx.deadline = None  # the way back is not bound by the way forward's --timeout
        try:
            lines = self._undo(ctx, ctx.options.mode)
        except BaseException as e:
            error = f"{reason}; ROLLBACK INCOMPLETE: {e}"
            ctx.save(replace(ctx.state, state="failed", finished=stamp(), error=error))
            raise OperationFailed(
                f"cutover failed ({reason}) and rolling back failed too ({e})",
                hint=f"run 'snapmigrate rollback {ctx.run_id}' to finish the rollback",
            ) from e
        ctx.save(
            replace(
                ctx.state,
                state="rolled-back",
                finished=stamp(),
                error=reason,
                rollback=tuple(lines),
            )
        )

    def _undo(self, ctx: CutoverContext, mode: str | None) -> list[str]:
        """Every step's undo, last step first: what each put back, one line each."""
        options = replace(ctx.options, mode=mode or "")
        planned = CUTOVER.plan(Basis(options, catch_up=ctx.plan.target.catch_up.logical))
        lines = []
        for step in reversed(planned):
            line = CUTOVER.step(step.name).undo(ctx, step.inputs)
            if line is not None:
                lines.append(f"{step.name}: {line}")
        for line in lines:
            self.say(f"[rollback] {line}")
        return lines


def _catch_up_running(record: RunRecord, plan: Plan) -> bool:
    """The run has a catch-up that has not ended (its slots may hold the source's WAL)."""
    return plan.target.catch_up.logical and not CatchUpDetails.of(record).ended


def _catch_up_json(state: CutoverState) -> Any:
    """The catch-up's part of the cutover JSON (the write counters stay in the journal)."""
    if state.catch_up is None:
        return None
    data = to_json(state.catch_up)
    return {k: v for k, v in data.items() if k not in ("source_counters", "target_counters")}


def _question(ctx: CutoverContext) -> str:
    how = swap_for(ctx.options.mode).question(ctx)
    return f"Freeze writes on {ctx.plan.source.identifier}, verify, then {how}?"


def _rollback_question(ctx: CutoverContext, writes: tuple[Any, ...] | None) -> str:
    lost = (
        f" ({sum(w.total for w in writes)} row change(s) on the target will not come back)"
        if writes
        else ""
    )
    return (
        f"Roll back run {ctx.run_id}: swap clients back to {ctx.plan.source.identifier} "
        f"and unfreeze it{lost}?"
    )

"""Apply a plan: step by step, journaled, resumable, idempotent.

For each step the runner asks AWS first (``is_done``): what is already there
is recorded and skipped. Otherwise it marks the step running, applies it
(``apply`` creates only what is missing and waits until AWS confirms), and
only then marks it done -- like alembic, a step counts as done once its
effect is seen and recorded. Ctrl-C stops cleanly (the journal says where,
exit 130); a crash leaves the journal at the step it was in; either way
``resume`` continues from AWS plus the journal without duplicating anything.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from snapmigrate import steps
from snapmigrate.errors import (
    BadInput,
    DifferencesFound,
    Interrupted,
    PreflightBlocked,
    SnapmigrateError,
)
from snapmigrate.journal import Journal, RunRecord, StepRecord, new_run_id, now
from snapmigrate.model import Plan, Step
from snapmigrate.steps import resources
from snapmigrate.steps.context import Freezer, Outcome, RunSettings, StepContext
from snapmigrate.waiting import ApiCallCounter, Clock, Progress, SystemClock, Waiter, duration

if TYPE_CHECKING:
    from snapmigrate.aws import Clients

log = logging.getLogger(__name__)

#: ``on_event(kind, step_name)`` is called at every step boundary:
#: before-step, step-started (journaled running), step-applied (AWS confirmed,
#: not yet journaled), step-finished (journaled done).
EventHook = Callable[[str, str], None]


@dataclass(frozen=True)
class RunResult:
    """A run as it ended (or as it stands), and how this invocation found it."""

    record: RunRecord
    resumed: bool = False
    adopted: bool = False

    @property
    def run_id(self) -> str:
        return self.record.run_id

    def to_dict(self) -> dict[str, Any]:
        return {**self.record.to_dict(), "resumed": self.resumed, "adopted": self.adopted}


@dataclass(frozen=True)
class CleanupResult:
    """What ``cleanup`` removed, step by step."""

    record: RunRecord
    removals: tuple[tuple[str, str], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.record.run_id,
            "state": self.record.state,
            "removed": [{"step": step, "message": message} for step, message in self.removals],
        }


def resume_hint(run_id: str) -> str:
    return f"the run can be resumed: snapmigrate migrate --resume {run_id}"


class Runner:
    """Executes plans against AWS, keeping the journal in step."""

    def __init__(
        self,
        clients: Clients,
        journal: Journal,
        *,
        settings: RunSettings | None = None,
        clock: Clock | None = None,
        progress: Progress | None = None,
        on_event: EventHook | None = None,
        run_ids: Callable[[], str] = new_run_id,
        freezer: Freezer | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.clients = clients
        self.journal = journal
        self.settings = settings or RunSettings()
        self.counter = ApiCallCounter()
        self.waiter = Waiter(clock=clock or SystemClock(), progress=progress, counter=self.counter, rng=rng)
        self.on_event = on_event or (lambda kind, name: None)
        self.run_ids = run_ids
        self.freezer = freezer
        self._record: RunRecord | None = None
        self._calls_at_start = 0

    # -- entry points -------------------------------------------------------

    def start(self, plan: Plan) -> RunResult:
        """Apply ``plan`` as a new run -- or, when its target already carries a
        run's tag, continue that run (a lost journal never yields a second cluster)."""
        if plan.blocked:
            raise PreflightBlocked("the plan has blocking findings: run 'snapmigrate plan' and fix them first")
        target = plan.target.identifier
        probe = self._context("", plan, None)
        cluster = resources.find_cluster(probe, target)
        if cluster is not None:
            run_id, role = resources.owner(cluster)
            if run_id is None:
                raise BadInput(
                    f"the name {target} is taken by a cluster snapmigrate did not create: choose another "
                    "--target (snapmigrate never modifies what it did not create); nothing was changed"
                )
            if self.journal.exists(run_id):
                log.warning("cluster %s belongs to run %s: continuing that run (its plan, from the journal)", target, run_id)
                return self.resume(run_id)
            log.warning(
                "cluster %s was created by snapmigrate run %s, whose journal is not in %s: adopting run %s",
                target, run_id, self.journal.directory, run_id,
            )
            record = self._new_record(run_id, plan).with_event(
                f"adopted run {run_id}: cluster {target} carries its tag ({role}) and the journal was missing"
            )
            return self._execute(record, plan, resumed=True, adopted=True)
        for other in self.journal.runs():
            if other.target == target and other.state not in ("done", "cleaned"):
                raise BadInput(
                    f"run {other.run_id} for target {target} is {other.state} (in step "
                    f"{other.current.name if other.current else '-'}): continue it with "
                    f"'snapmigrate migrate --resume {other.run_id}' (or remove {self.journal.path(other.run_id)})"
                )
        run_id = next((r for r in (self.run_ids() for _ in range(100)) if not self.journal.exists(r)), None)
        if run_id is None:
            raise BadInput(f"no free run id in {self.journal.directory}: move old journals away")
        return self._execute(self._new_record(run_id, plan), plan, resumed=False, adopted=False)

    def resume(self, run_id: str, *, adopted: bool = False) -> RunResult:
        """Continue the run ``run_id`` from AWS plus its journal."""
        record = self.journal.load(run_id)
        if record.state == "cleaned":
            raise BadInput(f"run {run_id} was cleaned up: its resources are gone; start a new run")
        plan = Plan.from_dict(record.plan)
        return self._execute(record, plan, resumed=True, adopted=adopted)

    def cleanup(self, run_id: str, *, keep_snapshot: bool = False) -> CleanupResult:
        """Delete what run ``run_id`` created (by tag), last step first; journal it."""
        from snapmigrate.steps import cleanup

        record = self.journal.load(run_id)
        plan = Plan.from_dict(record.plan)
        with self.journal.lock(run_id):
            record = self._save(self.journal.load(run_id).with_event("cleanup started"))
            ctx = self._context(run_id, plan, record)
            try:
                removals = cleanup.undo_all(ctx, keep_snapshot=keep_snapshot)
            except KeyboardInterrupt:
                self._save(self.journal.load(run_id).with_event("cleanup interrupted"))
                raise Interrupted(
                    f"cleanup of run {run_id} interrupted", hint=f"run 'snapmigrate cleanup {run_id}' again"
                ) from None
            except SnapmigrateError as e:
                self._save(self.journal.load(run_id).with_event(f"cleanup failed: {e}"))
                raise
            record = self.journal.load(run_id)
            for removal in removals:
                record = record.with_event(f"cleanup {removal.step}: {removal.message}")
            final = self._save(replace(record, state="cleaned", error=None))
        return CleanupResult(final, tuple((r.step, r.message) for r in removals))

    # -- the loop -----------------------------------------------------------

    def _new_record(self, run_id: str, plan: Plan) -> RunRecord:
        stamp = now()
        return RunRecord(
            run_id=run_id,
            state="running",
            source=plan.source.identifier,
            target=plan.target.identifier,
            created=stamp,
            updated=stamp,
            steps=tuple(StepRecord(name=s.name) for s in plan.steps),
            plan=plan.to_dict(),
            settings=self.settings.to_dict(),
        )

    def _context(self, run_id: str, plan: Plan, record: RunRecord | None) -> StepContext:
        return StepContext(
            clients=self.clients,
            run_id=run_id,
            plan=plan,
            waiter=self.waiter,
            settings=self.settings,
            record=record,
            note=self._note,
            freezer=self.freezer,
        )

    def _save(self, record: RunRecord) -> RunRecord:
        self.journal.save(record)
        self._record = record
        return record

    def _note(self, step: str, found: Mapping[str, str], details: Mapping[str, Any]) -> None:
        """Record AWS ids (and details) as soon as a step learns them."""
        if self._record is None:
            return
        rec = self._record.step(step)
        rec = replace(rec, resources={**rec.resources, **found}, details={**rec.details, **details})
        self._save(self._record.with_step(rec))

    def _execute(self, record: RunRecord, plan: Plan, *, resumed: bool, adopted: bool) -> RunResult:
        with self.journal.lock(record.run_id):
            if self.journal.exists(record.run_id):
                record = self.journal.load(record.run_id)
            verb = "resuming" if resumed else "starting"
            log.info("%s run %s: %s -> %s (journal %s)", verb, record.run_id, record.source, record.target, self.journal.path(record.run_id))
            record = replace(record, state="running", error=None).with_event(verb)
            self._save(record)
            ctx = self._context(record.run_id, plan, record)
            current: str | None = None
            try:
                for n, step in enumerate(plan.steps, 1):
                    current = step.name
                    self._run_step(ctx, step, n, len(plan.steps))
                current = None
            except KeyboardInterrupt:
                self._stop(current, "interrupted", "interrupted by the user")
                where = f"during step {current}" if current else "between steps"
                raise Interrupted(f"run {record.run_id} interrupted {where}", hint=resume_hint(record.run_id)) from None
            except SnapmigrateError as e:
                self._stop(current, "failed", str(e))
                if not isinstance(e, BadInput | DifferencesFound):
                    e.hint = e.hint or resume_hint(record.run_id)
                raise
            except Exception as e:
                self._stop(current, "failed", f"internal error: {type(e).__name__}: {e}")
                raise
            assert self._record is not None
            final = self._save(replace(self._record, state="done", error=None).with_event("done"))
            log.info("run %s done: %s", final.run_id, final.target)
            return RunResult(final, resumed=resumed, adopted=adopted)

    def _stop(self, step: str | None, state: str, error: str) -> None:
        if self._record is None:
            return
        record = self._record
        if step is not None:
            rec = record.step(step)
            if rec.state in ("running", "pending"):
                calls = rec.api_calls + self.counter.count - self._calls_at_start
                record = record.with_step(replace(rec, state=state, error=error, finished=now(), api_calls=calls))
        self._save(replace(record, state=state, error=error).with_event(f"{state}: {error}"))

    def _run_step(self, ctx: StepContext, step: Step, n: int, total: int) -> None:
        module = steps.module(step.name)
        assert self._record is not None
        ctx.record = self._record  # what earlier steps recorded, e.g. the write counters
        rec = self._record.step(step.name)
        self.on_event("before-step", step.name)
        calls = self._calls_at_start = self.counter.count
        transient = self.counter.transient
        if module.is_done(ctx, step):
            if rec.state != "done":
                rec = replace(
                    self._record.step(step.name),
                    state="done",
                    started=rec.started or now(),
                    finished=now(),
                    outcome=rec.outcome or "already in place in AWS: nothing to apply",
                    resources={**module.ids(ctx, step), **rec.resources},
                    api_calls=rec.api_calls + self.counter.count - calls,
                    error=None,
                )
                self._save(self._record.with_step(rec))
            log.info("[%d/%d] %s: done (confirmed in AWS)", n, total, step.name)
            self.on_event("step-finished", step.name)
            return
        if rec.state == "done":
            log.warning("[%d/%d] %s: the journal says done but AWS does not: applying it again", n, total, step.name)
        rec = replace(rec, state="running", started=now(), finished=None, attempts=rec.attempts + 1, error=None)
        self._save(self._record.with_step(rec))
        log.info("[%d/%d] %s: %s", n, total, step.name, step.summary)
        self.on_event("step-started", step.name)
        outcome: Outcome = module.apply(ctx, step)
        self.on_event("step-applied", step.name)
        rec = self._record.step(step.name)
        rec = replace(
            rec,
            state=outcome.state,
            finished=now(),
            outcome=outcome.summary,
            resources={**rec.resources, **outcome.resources},
            details={**rec.details, **outcome.details},
            waits=(*rec.waits, *(w.to_dict() for w in outcome.waits)),
            api_calls=rec.api_calls + self.counter.count - calls,
            transient_errors=rec.transient_errors + self.counter.transient - transient,
            error=None,
        )
        self._save(self._record.with_step(rec))
        took = sum(w.elapsed_s for w in outcome.waits)
        log.info("[%d/%d] %s: %s (%s waited, %d API calls)", n, total, step.name, outcome.summary, duration(took), rec.api_calls)
        self.on_event("step-finished", step.name)
        if outcome.state == "failed":
            raise DifferencesFound(f"{step.name}: {outcome.summary}")

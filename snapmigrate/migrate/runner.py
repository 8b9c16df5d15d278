"""Apply a migration plan: journaled, resumable, idempotent.

The steps run through the one loop (:func:`snapmigrate.workflow.runner.run_steps`);
this module adds what a migration run is: a run id, the journal's step
records (:class:`StepsSection`), adoption of a run whose journal was lost
(AWS tags are the truth), and the clean stop: Ctrl-C leaves the journal
saying where (exit 130), a crash leaves it at the step it was in, and either
way ``resume`` continues from AWS plus the journal without duplicating anything.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from snapmigrate.aws import Aws, Clients, RetryPolicy, rds
from snapmigrate.errors import (
    BadInput,
    DifferencesFound,
    Interrupted,
    PreflightBlocked,
    ResourceFailed,
    SnapmigrateError,
)
from snapmigrate.inplace import outages_json
from snapmigrate.migrate import IN_PLACE, read_plan, workflow_for
from snapmigrate.migrate.cleanup import CleanupResult, cleanup
from snapmigrate.migrate.context import Freezer, MigrateContext, RunSettings
from snapmigrate.model import Plan, PlannedStep
from snapmigrate.progress import Progress, duration
from snapmigrate.records import Record
from snapmigrate.waiting import Clock, SystemClock, Waiter
from snapmigrate.workflow.journal import Journal, RunRecord, StepRecord, new_run_id, now
from snapmigrate.workflow.runner import EventHook, no_events, run_steps
from snapmigrate.workflow.step import Outcome

log = logging.getLogger(__name__)


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
        data = {**self.record.to_dict(), "resumed": self.resumed, "adopted": self.adopted}
        measured = outages_json(self.record)
        if measured is not None:
            data["outages"] = measured
        return data


def resume_hint(run_id: str) -> str:
    return f"the run can be resumed: snapmigrate migrate --resume {run_id}"


class StepsSection:
    """The run's step records: saved at every change, so a crash anywhere leaves
    the journal at the step it was in (a :class:`~snapmigrate.workflow.runner.Section`)."""

    def __init__(self, journal: Journal, record: RunRecord, ctx: MigrateContext, aws: Aws) -> None:
        self.journal = journal
        self.record = record
        self.ctx = ctx
        self.counter = aws.counter
        self.current: str | None = None
        self._calls = self._transient = 0
        ctx.record = record
        ctx.note = self.note

    def save(self, record: RunRecord) -> RunRecord:
        self.journal.save(record)
        self.record = self.ctx.record = record
        return record

    def note(self, step: str, found: Mapping[str, str], details: Record | None) -> None:
        """Record AWS ids (and details) as soon as a step learns them."""
        rec = self.record.step(step)
        data = details.to_dict() if details is not None else rec.details
        self.save(
            self.record.with_step(replace(rec, resources={**rec.resources, **found}, details=data))
        )

    def calls_since_begin(self) -> int:
        """API calls made since the current step was first looked at."""
        return self.counter.count - self._calls

    def begin(self, n: int, total: int, step: PlannedStep) -> None:
        self.current = step.name
        self._calls, self._transient = self.counter.count, self.counter.transient

    def confirmed(self, n: int, total: int, step: PlannedStep, ids: Mapping[str, str]) -> None:
        rec = self.record.step(step.name)
        if rec.state != "done":
            self.save(
                self.record.with_step(
                    replace(
                        rec,
                        state="done",
                        started=rec.started or now(),
                        finished=now(),
                        outcome=rec.outcome or "already in place in AWS: nothing to apply",
                        resources={**ids, **rec.resources},
                        api_calls=rec.api_calls + self.calls_since_begin(),
                        error=None,
                    )
                )
            )
        log.info("[%d/%d] %s: done (confirmed in AWS)", n, total, step.name)

    def started(self, n: int, total: int, step: PlannedStep) -> None:
        rec = self.record.step(step.name)
        if rec.state == "done":
            log.warning(
                "[%d/%d] %s: the journal says done but AWS does not: applying it again",
                n,
                total,
                step.name,
            )
        rec = replace(
            rec,
            state="running",
            started=now(),
            finished=None,
            attempts=rec.attempts + 1,
            error=None,
        )
        self.save(self.record.with_step(rec))
        log.info("[%d/%d] %s: %s", n, total, step.name, step.summary)

    def finished(self, n: int, total: int, step: PlannedStep, outcome: Outcome) -> None:
        rec = self.record.step(step.name)
        rec = replace(
            rec,
            state=outcome.state,
            finished=now(),
            outcome=outcome.summary,
            resources={**rec.resources, **outcome.resources},
            details=outcome.details.to_dict() if outcome.details is not None else rec.details,
            waits=(*rec.waits, *(w.to_dict() for w in outcome.waits)),
            api_calls=rec.api_calls + self.calls_since_begin(),
            transient_errors=rec.transient_errors + self.counter.transient - self._transient,
            error=None,
        )
        self.save(self.record.with_step(rec))
        took = duration(sum(w.elapsed_s for w in outcome.waits))
        log.info(
            "[%d/%d] %s: %s (%s waited, %d API calls)",
            n,
            total,
            step.name,
            outcome.summary,
            took,
            rec.api_calls,
        )

    def failed(self, step: PlannedStep, error: BaseException) -> None:
        """The run's stop (:meth:`Runner._stop`) records the failure, with the run's state."""


class Runner:
    """Executes migration plans against AWS, keeping the journal in step."""

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
        self.journal = journal
        self.settings = settings or RunSettings()
        clock = clock or SystemClock()
        self.aws = Aws(
            clients, policy=RetryPolicy(attempts=self.settings.attempts), sleep=clock.sleep
        )
        self.waiter = Waiter(clock=clock, progress=progress, counter=self.aws.counter, rng=rng)
        self.on_event = on_event or no_events
        self.run_ids = run_ids
        self.freezer = freezer
        self._section: StepsSection | None = None

    @property
    def clients(self) -> Clients:
        return self.aws.clients

    # -- entry points -------------------------------------------------------

    def start(self, plan: Plan) -> RunResult:
        """Apply ``plan`` as a new run -- or, when its target already carries a
        run's tag, continue that run (a lost journal never yields a second cluster)."""
        if plan.blocked:
            raise PreflightBlocked(
                "the plan has blocking findings: run 'snapmigrate plan' and fix them first"
            )
        target = plan.target.identifier
        # In place, the target is the source itself: it exists and is not the run's.
        cluster = rds.find_cluster(self.aws, target) if plan.target.path != IN_PLACE else None
        if cluster is not None:
            return self._continue(plan, cluster)
        for other in self.journal.runs():
            if other.target == target and other.state not in ("done", "cleaned"):
                at = other.current.name if other.current else "-"
                raise BadInput(
                    f"run {other.run_id} for target {target} is {other.state} (in step {at}): "
                    f"continue it with 'snapmigrate migrate --resume {other.run_id}' "
                    f"(or remove {self.journal.path(other.run_id)})"
                )
        fresh = (r for r in (self.run_ids() for _ in range(100)) if not self.journal.exists(r))
        run_id = next(fresh, None)
        if run_id is None:
            raise BadInput(f"no free run id in {self.journal.directory}: move old journals away")
        return self._execute(self._new_record(run_id, plan), plan, resumed=False, adopted=False)

    def resume(self, run_id: str, *, adopted: bool = False) -> RunResult:
        """Continue the run ``run_id`` from AWS plus its journal."""
        record = self.journal.load(run_id)
        if record.state == "cleaned":
            raise BadInput(f"run {run_id} was cleaned up: its resources are gone; start a new run")
        return self._execute(record, read_plan(record.plan), resumed=True, adopted=adopted)

    def cleanup(self, run_id: str, *, keep_snapshot: bool = False) -> CleanupResult:
        """Delete what run ``run_id`` created (by tag), last step first; journal it."""
        return cleanup(self, run_id, keep_snapshot=keep_snapshot)

    def context(self, run_id: str, plan: Plan, record: RunRecord | None = None) -> MigrateContext:
        """What the steps of run ``run_id`` work with."""
        return MigrateContext(
            aws=self.aws,
            run_id=run_id,
            plan=plan,
            waiter=self.waiter,
            settings=self.settings,
            record=record,
            freezer=self.freezer,
        )

    # -- the run ------------------------------------------------------------

    def _continue(self, plan: Plan, cluster: rds.Resource) -> RunResult:
        """The target exists: continue the run that created it, or refuse."""
        target = plan.target.identifier
        run_id, role = rds.owner(cluster)
        if run_id is None:
            raise BadInput(
                f"the name {target} is taken by a cluster snapmigrate did not create: choose "
                "another --target (snapmigrate never modifies what it did not create); "
                "nothing was changed"
            )
        if self.journal.exists(run_id):
            log.warning(
                "cluster %s belongs to run %s: continuing that run (its plan, from the journal)",
                target,
                run_id,
            )
            return self.resume(run_id)
        log.warning(
            "cluster %s was created by snapmigrate run %s, whose journal is not in %s: "
            "adopting run %s",
            target,
            run_id,
            self.journal.directory,
            run_id,
        )
        record = self._new_record(run_id, plan).with_event(
            f"adopted run {run_id}: cluster {target} carries its tag ({role}) "
            "and the journal was missing"
        )
        return self._execute(record, plan, resumed=True, adopted=True)

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

    def _execute(self, record: RunRecord, plan: Plan, *, resumed: bool, adopted: bool) -> RunResult:
        with self.journal.lock(record.run_id):
            if self.journal.exists(record.run_id):
                record = self.journal.load(record.run_id)
            verb = "resuming" if resumed else "starting"
            log.info(
                "%s run %s: %s -> %s (journal %s)",
                verb,
                record.run_id,
                record.source,
                record.target,
                self.journal.path(record.run_id),
            )
            ctx = self.context(record.run_id, plan)
            section = self._section = StepsSection(self.journal, record, ctx, self.aws)
            section.save(replace(record, state="running", error=None).with_event(verb))
            try:
                workflow = workflow_for(plan.target.path)
                run_steps(workflow, ctx, plan.steps, section, on_event=self.on_event)
                section.current = None
            except KeyboardInterrupt:
                step = section.current
                self._stop(step, "interrupted", "interrupted by the user")
                where = f"during step {step}" if step else "between steps"
                raise Interrupted(
                    f"run {record.run_id} interrupted {where}", hint=resume_hint(record.run_id)
                ) from None
            except SnapmigrateError as e:
                self._stop(section.current, "failed", str(e))
                if isinstance(e, ResourceFailed):
                    e.hint = e.hint or (
                        "AWS will not bring it back by itself: read its events (aws rds "
                        "describe-events), then delete what the run created with 'snapmigrate "
                        f"cleanup {record.run_id}' and start again"
                    )
                elif not isinstance(e, BadInput | DifferencesFound):
                    e.hint = e.hint or resume_hint(record.run_id)
                raise
            except Exception as e:
                self._stop(section.current, "failed", f"internal error: {type(e).__name__}: {e}")
                raise
            final = section.save(
                replace(section.record, state="done", error=None).with_event("done")
            )
            log.info("run %s done: %s", final.run_id, final.target)
            return RunResult(final, resumed=resumed, adopted=adopted)

    def _stop(self, step: str | None, state: str, error: str) -> None:
        section = self._section
        if section is None:
            return
        record = section.record
        if step is not None:
            rec = record.step(step)
            if rec.state in ("running", "pending"):
                calls = rec.api_calls + section.calls_since_begin()
                rec = replace(rec, state=state, error=error, finished=now(), api_calls=calls)
                record = record.with_step(rec)
        section.save(replace(record, state=state, error=error).with_event(f"{state}: {error}"))

"""Create (and re-create, for ``reset``) a clone: check everything, show the plan,
ask, apply the clone's steps journaled in ``<state-dir>/clones/`` -- and destroy
the clone if anything fails once it exists (clones are disposable: a half-made
or unproven one is never left behind). Exit 3 when the proof fails.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from snapmigrate.aws import Aws, rds
from snapmigrate.clone import destroy, lease, rules
from snapmigrate.clone.context import CloneBasis, CloneContext, CloneSettings, MaskPlan
from snapmigrate.clone.discover import read_basis
from snapmigrate.clone.journal import rules_path
from snapmigrate.clone.masking import MaskDetails, ProofDetails
from snapmigrate.clone.options import CloneOptions
from snapmigrate.clone.spec import Basis, CloneSpec, fail_if_blocked, preflight
from snapmigrate.clone.view import CloneInfo, CreateResult, Timings
from snapmigrate.clone.workflow import CLONE
from snapmigrate.connectmap import ConnectMap
from snapmigrate.db.connect import from_cluster
from snapmigrate.db.mask_catalog import check_plans, read_facts
from snapmigrate.errors import BadInput, Interrupted, SnapmigrateError
from snapmigrate.files import atomic_write_text
from snapmigrate.migrate.runner import StepsSection
from snapmigrate.model import TAG_EXPIRES_AT, Finding, PlannedStep
from snapmigrate.progress import NullProgress, Progress
from snapmigrate.waiting import Waiter
from snapmigrate.workflow.journal import Journal, RunRecord, StepRecord, new_run_id, now
from snapmigrate.workflow.runner import run_steps

log = logging.getLogger(__name__)

#: ``confirm(question) -> yes?``; None means ``--yes``.
Confirm = Callable[[str], bool]


@dataclass(frozen=True)
class ClonePlan:
    """What a create (or reset) will do, shown before it is asked."""

    spec: CloneSpec
    findings: tuple[Finding, ...]
    steps: tuple[PlannedStep, ...]
    replacing: bool = False
    mask_summary: str | None = None


def read_rules(path: str) -> rules.MaskRules:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise BadInput(f"cannot read the mask rules {path}: {e.strerror or e}") from None
    return rules.parse(text, f"mask rules {path}")


class CloneRunner:
    """Makes clones: the AWS call path, the waiter, the clones' journal, the clocks."""

    def __init__(
        self,
        aws: Aws,
        waiter: Waiter,
        journal: Journal,
        settings: CloneSettings,
        *,
        now: Callable[[], datetime] = lease.utc_now,
        progress: Progress | None = None,
    ) -> None:
        self.aws = aws
        self.waiter = waiter
        self.journal = journal
        self.settings = settings
        self.now = now
        self.progress = progress or NullProgress()

    # -- planning ---------------------------------------------------------------

    def mask_plan(self, found: rules.MaskRules, source: str) -> MaskPlan:
        """The rules checked against the source's catalog and server (exit 2 on the first
        problem) before anything is created."""
        if not self.settings.connect:
            raise BadInput("--mask needs to reach the databases: drop --no-connect")
        endpoint = from_cluster(self.aws, source, "source")
        cmap = ConnectMap.load(self.settings.connect_map)
        wanted = [(t.database, t.schema, t.name) for t in found.tables]
        databases, facts = read_facts(endpoint, wanted, connect_map=cmap)
        rules.check(found, facts, databases)
        plans = rules.plans(found, facts)
        check_plans(endpoint, plans, connect_map=cmap)
        return MaskPlan(found.digest, found.summary(), plans)

    def plan(
        self,
        options: CloneOptions,
        found: rules.MaskRules | None,
        *,
        replacing: bool = False,
        keep: dict[str, str] | None = None,
    ) -> tuple[ClonePlan, Basis, MaskPlan | None]:
        basis = read_basis(self.aws, options, self.now(), replacing=replacing)
        run_id = self._run_id()
        spec, findings = preflight(options, basis, run_id, found.digest if found else "none")
        if keep:
            spec = replace(spec, tags={**spec.tags, **keep})
        mask = None
        if found is not None and not any(f.level == "block" for f in findings):
            mask = self.mask_plan(found, options.source)
        steps = CLONE.plan(CloneBasis(spec, mask))
        summary = mask.summary if mask else None
        return ClonePlan(spec, findings, steps, replacing, summary), basis, mask

    def stamp(self) -> str:
        """A time for resource names (a final snapshot's): ``20260131t180000``."""
        return self.now().strftime("%Y%m%dt%H%M%S")

    def _run_id(self) -> str:
        for _ in range(100):
            run_id = new_run_id()
            if not self.journal.exists(run_id):
                return run_id
        raise BadInput(f"no free run id in {self.journal.directory}: move old journals away")

    def create(
        self,
        options: CloneOptions,
        *,
        confirm: Confirm | None = None,
        on_plan: Callable[[ClonePlan], None] | None = None,
    ) -> CreateResult:
        """Check (rules against the source too), show the plan, ask, create, prove."""
        found = read_rules(options.mask_file) if options.mask_file else None
        shown, _, mask = self.plan(options, found)
        if on_plan is not None:
            on_plan(shown)
        fail_if_blocked(shown.findings)
        expires = shown.spec.tags.get(TAG_EXPIRES_AT)
        question = (
            f"Create clone {options.name} of {options.source} ({len(shown.steps)} steps; "
            f"expires {expires}; deleted without a final snapshot)?"
        )
        if confirm is not None and not confirm(question):
            raise BadInput("not created: nothing was changed")
        return self.apply(shown, mask, found.text if found else None)

    # -- applying ---------------------------------------------------------------

    def apply(
        self, shown: ClonePlan, mask: MaskPlan | None, rules_text: str | None
    ) -> CreateResult:
        """Run the steps; on any failure (Ctrl-C too) destroy what was made, then re-raise."""
        spec = shown.spec
        ctx = CloneContext(self.aws, spec, self.waiter, self.settings, mask, progress=self.progress)
        stamp = now()
        record = RunRecord(
            run_id=spec.run_id,
            state="running",
            source=spec.source,
            target=spec.name,
            created=stamp,
            updated=stamp,
            steps=tuple(StepRecord(name=s.name) for s in shown.steps),
            plan={
                "kind": "clone",
                "spec": spec.to_dict(),
                "steps": [s.to_dict() for s in shown.steps],
            },
            settings={"connect": self.settings.connect, "mask": mask.digest if mask else None},
        )
        with self.journal.lock(spec.run_id):
            # The migration's step records serve here too (the context has record and note).
            section = StepsSection(self.journal, record, cast(Any, ctx), self.aws)
            section.save(record.with_event("reset" if shown.replacing else "create"))
            try:
                run_steps(CLONE, ctx, shown.steps, section)
                self._tag(spec, {lease.TAG_STATE: "ready"})
            except BaseException as e:
                self._fail(section, ctx, e)
                raise
            if rules_text is not None:
                atomic_write_text(rules_path(self.journal, spec.name), rules_text, mode=0o600)
            final = section.save(replace(section.record, state="done").with_event("ready"))
        cluster = ctx.cluster() or {}
        timings = Timings(
            **{
                f"{m}_s": ctx.marks.get(m)
                for m in (
                    "accepted",
                    "cluster_available",
                    "instances_available",
                    "first_query",
                    "masked",
                )
            },
            total_s=self.waiter.clock.monotonic() - (ctx.started or 0.0),
        )
        return CreateResult(
            CloneInfo.of(cluster, ctx.database_names),
            timings,
            mask=_mask_report(final, mask),
            run_id=spec.run_id,
            plan=tuple(s.summary for s in shown.steps),
        )

    def _tag(self, spec: CloneSpec, tags: dict[str, str]) -> None:
        cluster = rds.find_cluster(self.aws, spec.name) or {}
        self.aws.call(
            f"tag {spec.name}",
            self.aws.rds().add_tags_to_resource,
            ResourceName=cluster.get("DBClusterArn", spec.name),
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )

    def _fail(self, section: Any, ctx: CloneContext, error: BaseException) -> None:
        """Journal the failure and destroy the clone this run made (if it made one)."""
        spec = ctx.spec
        reason = (
            "interrupted"
            if isinstance(error, KeyboardInterrupt)
            else str(error) or type(error).__name__
        )
        section.save(
            replace(section.record, state="failed", error=reason).with_event(f"failed: {reason}")
        )
        try:
            doomed = destroy.check(self.aws, [spec.name], self.now(), run_id=spec.run_id)
            gone = destroy.destroy(self.aws, doomed, self.waiter, self.settings, stamp=self.stamp)
        except (SnapmigrateError, KeyboardInterrupt) as e:
            log.error(
                "the failed clone %s could not be destroyed: %s -- "
                "run 'snapmigrate clone destroy %s --yes'",
                spec.name,
                e,
                spec.name,
            )
            section.save(section.record.with_event(f"destroy after failure failed: {e}"))
            return
        what = f"destroyed {', '.join(gone)}" if gone else "nothing was created"
        log.warning("clone %s failed (%s): %s", spec.name, reason, what)
        section.save(section.record.with_event(f"after the failure: {what}"))
        if isinstance(error, KeyboardInterrupt):
            raise Interrupted(f"clone {spec.name} interrupted: {what}") from None
        if isinstance(error, SnapmigrateError):
            error.hint = error.hint or f"clone {spec.name}: {what}"


def _mask_report(record: RunRecord, mask: MaskPlan | None) -> dict[str, Any] | None:
    if mask is None:
        return None
    masked = MaskDetails.of(record)
    proof = ProofDetails.of(record)
    return {
        "rules": mask.digest,
        "summary": mask.summary,
        "proof": {
            "clean": bool(masked.clean) and bool(proof.passed),
            "tables": [dict(t) for t in masked.tables],
            "verify": proof.summary(),
        },
    }

"""Compare the source and the copy (schema, row counts, checksums)."""

from __future__ import annotations

from snapmigrate.model import SourceCluster, Step, TargetSpec
from snapmigrate.steps import dataplane
from snapmigrate.steps.context import Outcome, StepContext

NAME = "verify"
PERMISSIONS = ("rds:DescribeDBClusters", "secretsmanager:GetSecretValue", "rds-db:connect")
UNDO_PERMISSIONS: tuple[str, ...] = ()


def plan(spec: TargetSpec, source: SourceCluster) -> Step:
    return Step(
        NAME,
        {"source": source.identifier, "target": spec.identifier, "mode": "checksum"},
        f"verify {spec.identifier} against {source.identifier} (schema, row counts, checksums)",
    )


def ids(ctx: StepContext, step: Step) -> dict[str, str]:
    """A verification creates nothing in AWS."""
    return {}


def is_done(ctx: StepContext, step: Step) -> bool:
    """A verification leaves nothing in AWS: done only when this run's journal
    recorded it as run and equal (a skipped verification runs again)."""
    if ctx.record is None:
        return False
    try:
        rec = ctx.record.step(NAME)
    except KeyError:
        return False
    return rec.state == "done" and rec.details.get("equal") is True


def apply(ctx: StepContext, step: Step) -> Outcome:
    """Run the verifier if there is one; otherwise say so (never 'passed')."""
    earlier = ctx.previous("snapshot")
    counters = {"before": earlier.get("write_counters_before") or {}, "after": earlier.get("write_counters_after") or {}}
    found = dataplane.verify(ctx, step.params["source"], step.params["target"], step.params.get("mode", "checksum"), counters)
    details = {"ran": found.ran, "equal": found.equal, "report": dict(found.report)}
    if not found.ran:
        return Outcome(found.summary, details=details, state="skipped")
    return Outcome(found.summary, details=details, state="done" if found.equal else "failed")


def undo(ctx: StepContext, step: Step) -> str:
    """A verification changes nothing."""
    return "nothing to undo"

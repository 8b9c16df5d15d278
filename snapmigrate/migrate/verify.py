"""Compare the source and the copy (schema, row counts, checksums)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from snapmigrate.migrate import dataplane
from snapmigrate.migrate.context import Basis, MigrateContext
from snapmigrate.migrate.snapshot import SnapshotDetails
from snapmigrate.records import Record
from snapmigrate.workflow.journal import RunRecord, StepDetails
from snapmigrate.workflow.step import Outcome, Step

NAME = "verify"


@dataclass(frozen=True)
class VerifyInputs(Record):
    source: str
    target: str
    mode: str = "checksum"


@dataclass(frozen=True)
class VerifyDetails(StepDetails):
    """Whether the verifier ran, whether the copy is equal, and its report (the
    ``verify`` command's JSON document)."""

    step = NAME
    always = frozenset({"equal"})

    ran: bool = False
    equal: bool | None = None
    report: Mapping[str, Any] = field(default_factory=dict)


def passed(record: RunRecord) -> bool:
    """Whether the run's verification ran and found the copy equal."""
    try:
        state = record.step(NAME).state
    except KeyError:
        return False
    return state == "done" and VerifyDetails.of(record).equal is True


class VerifyStep(Step[Basis, MigrateContext, VerifyInputs]):
    """The copy proven equal to the source -- or the run says it was not verified."""

    name = NAME
    inputs = VerifyInputs
    permissions = ("rds:DescribeDBClusters", "secretsmanager:GetSecretValue", "rds-db:connect")

    def plan(self, basis: Basis) -> VerifyInputs:
        return VerifyInputs(basis.source.identifier, basis.spec.identifier)

    def describe(self, inputs: VerifyInputs) -> str:
        return f"verify {inputs.target} against {inputs.source} (schema, row counts, checksums)"

    def is_done(self, ctx: MigrateContext, inputs: VerifyInputs) -> bool:
        """A verification leaves nothing in AWS: done only when this run's journal
        recorded it as run and equal (a skipped verification runs again)."""
        return ctx.record is not None and passed(ctx.record)

    def apply(self, ctx: MigrateContext, inputs: VerifyInputs) -> Outcome:
        """Run the verifier if there is one; otherwise say so (never 'passed')."""
        snapshot = ctx.details(SnapshotDetails)
        drift = dataplane.baseline(snapshot.write_counters_before, snapshot.write_counters_after)
        found = dataplane.verify(ctx, inputs.source, inputs.target, inputs.mode, drift)
        details = VerifyDetails(ran=found.ran, equal=found.equal, report=found.report)
        if not found.ran:
            return Outcome(found.summary, details=details, state="skipped")
        return Outcome(found.summary, details=details, state="done" if found.equal else "failed")

    def undo(self, ctx: MigrateContext, inputs: VerifyInputs) -> str:
        """A verification changes nothing."""
        return "nothing to undo"

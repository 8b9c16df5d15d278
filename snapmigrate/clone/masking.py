"""Masking a clone and proving it (``clone create --mask``).

``mask``: applied with psycopg on the clone's writer as soon as it answers,
per database, in batches (a bar per table), then VACUUM FULL; the counts of
the proof's first half come back with it: per masked column, the rows that
kept their value at their key (must be 0); per masked table, the rows whose
other columns changed (0); per emptied table, the rows left (0).

``proof``: the second half -- every unmasked column of a masked table, and
every other table, equals the source at the clone's restore point: the
verifier (:mod:`snapmigrate.db.verify`), leaving out the masked columns and
emptied tables, drift-aware with the source's write counters taken around the
restore request. A copy-on-write clone's restore point IS the request, so a
difference the counters do not explain fails; a snapshot's or a point in
time's lies before the request, where no counter can tell drift from damage:
those differences are reported, and the first half (in the clone itself,
exact) is what fails such a run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from snapmigrate.clone.context import CloneBasis, CloneContext
from snapmigrate.db.mask import MaskRun, TableProof
from snapmigrate.db.stats import Baseline
from snapmigrate.db.verify import VerifyOptions, verify
from snapmigrate.progress import Status
from snapmigrate.records import Record
from snapmigrate.workflow.journal import StepDetails
from snapmigrate.workflow.step import Outcome, Step

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MaskInputs(Record):
    """The rules' digest and what they do (the rules themselves are in the state dir)."""

    clone: str
    digest: str
    summary: str


@dataclass(frozen=True)
class MaskDetails(StepDetails):
    step = "mask"

    clean: bool | None = None
    tables: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class ProofDetails(StepDetails):
    step = "proof"

    passed: bool | None = None
    equal: bool | None = None
    at_restore_point: bool | None = None
    tables: int | None = None
    differing: tuple[str, ...] = ()
    drift: tuple[str, ...] = ()
    left_out: tuple[str, ...] = ()
    elapsed_s: float | None = None
    report: Mapping[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The ``mask.proof.verify`` object of the result."""
        return {
            "passed": self.passed,
            "equal": self.equal,
            "at_restore_point": self.at_restore_point,
            "tables": self.tables,
            "differing": list(self.differing),
            "drift": list(self.drift),
            "left_out": list(self.left_out),
            "elapsed_s": self.elapsed_s,
        }


def _one_line(proofs: list[TableProof]) -> str:
    masked = [p for p in proofs if not p.emptied]
    columns = sum(len(p.columns) for p in masked)
    emptied = sum(p.emptied for p in proofs)
    bad = [p for p in proofs if not p.clean]
    if not bad:
        return (
            f"masked {columns} column(s) in {len(masked)} table(s), emptied {emptied}: "
            "no row keeps a masked value at its key, nothing else changed"
        )
    worst = bad[0]
    if worst.emptied:
        return f"{worst.schema}.{worst.name} still holds {worst.rows} row(s) after emptying"
    kept = [f"{c.column} ({c.kept_values} row(s))" for c in worst.columns if c.kept_values]
    if kept:
        return (
            f"LEAK: {worst.schema}.{worst.name} kept source values in {', '.join(kept)} "
            "(a rule that does not change what it masks)"
        )
    return (
        f"{worst.schema}.{worst.name}: {worst.rest_changed} row(s) changed outside the masked "
        f"columns, {worst.found_at_key} of {worst.rows} found at their key"
    )


class MaskStep(Step[CloneBasis, CloneContext, MaskInputs]):
    """Masked in place, batch by batch, VACUUM FULL, counted."""

    name = "mask"
    inputs = MaskInputs
    permissions = ("secretsmanager:GetSecretValue", "rds-db:connect")

    def plan(self, basis: CloneBasis) -> MaskInputs | None:
        if basis.mask is None:
            return None
        return MaskInputs(basis.spec.name, basis.mask.digest, basis.mask.summary)

    def describe(self, inputs: MaskInputs) -> str:
        return f"{inputs.summary}; VACUUM FULL; count what survived (must be nothing)"

    def is_done(self, ctx: CloneContext, inputs: MaskInputs) -> bool:
        return False  # a clone is never resumed: a failed one is destroyed

    def apply(self, ctx: CloneContext, inputs: MaskInputs) -> Outcome:
        assert ctx.mask is not None
        clone = ctx.endpoint(inputs.clone, "clone")
        proofs: list[TableProof] = []
        for database, plans in ctx.mask.databases.items():
            labels = tuple(f"{database}: {p.schema}.{p.name}" for p in plans if not p.empty)
            ctx.progress.begin(f"masking of database {database}", labels)
            start = ctx.waiter.clock.monotonic()

            def report(
                table: str, done: int, total: int, database: str = database, start: float = start
            ) -> None:
                percent = 100 if not total else int(100 * done / total)
                status = Status(f"{done}/{total} rows", done=done >= total, percent=percent)
                ctx.progress.update(
                    f"{database}: {table}", status, ctx.waiter.clock.monotonic() - start
                )

            try:
                run = MaskRun(
                    clone,
                    database,
                    plans,
                    ctx.keys,
                    connect_map=ctx.connect_map(),
                    batch_rows=ctx.settings.batch_rows,
                    report=report,
                )
                proofs += run.run()
            finally:
                ctx.progress.end()
        took = ctx.mark("masked")
        clean = all(p.clean for p in proofs)
        details = MaskDetails(clean=clean, tables=tuple(p.to_dict() for p in proofs))
        summary = f"{_one_line(proofs)} ({took:.0f} s after the request)"
        return Outcome(summary, details=details, state="done" if clean else "failed")


@dataclass(frozen=True)
class ProofInputs(Record):
    source: str
    clone: str
    at_restore_point: bool


class ProofStep(Step[CloneBasis, CloneContext, ProofInputs]):
    """The rest equals the source at the restore point (the verifier, drift-aware)."""

    name = "proof"
    inputs = ProofInputs
    permissions = ("rds:DescribeDBClusters", "secretsmanager:GetSecretValue", "rds-db:connect")

    def plan(self, basis: CloneBasis) -> ProofInputs | None:
        if basis.mask is None:
            return None
        spec = basis.spec
        return ProofInputs(spec.source, spec.name, spec.method == "cow")

    def describe(self, inputs: ProofInputs) -> str:
        return (
            f"verify {inputs.clone} against {inputs.source} without the masked columns and "
            "emptied tables (schema, row counts, checksums; drift-aware)"
        )

    def is_done(self, ctx: CloneContext, inputs: ProofInputs) -> bool:
        return False

    def apply(self, ctx: CloneContext, inputs: ProofInputs) -> Outcome:
        assert ctx.mask is not None
        before, after = ctx.counters
        baseline = Baseline(after=after, before=before) if after is not None else None
        leave_out = ctx.mask.leave_out()
        options = VerifyOptions(
            mode="checksum",
            jobs=ctx.settings.verify_jobs,
            baseline=baseline,
            allow_drift=baseline is not None,
            leave_out=leave_out,
        )
        result = verify(
            ctx.endpoint(inputs.source, "source"),
            ctx.endpoint(inputs.clone, "clone"),
            options,
            connect_map=ctx.connect_map(),
            progress=log.info,
            sleep=ctx.waiter.clock.sleep,
        )
        passed = result.exit_code == 0
        name = lambda t: f"{t.database}.{t.schema}.{t.name}"  # noqa: E731
        details = ProofDetails(
            passed=passed,
            equal=result.equal,
            at_restore_point=inputs.at_restore_point,
            tables=len(result.tables),
            differing=tuple(name(t) for t in result.differing_tables if not t.drift),
            drift=tuple(name(t) for t in result.differing_tables if t.drift),
            left_out=tuple(
                f"{d}.{s}.{t}" + ("" if cols is None else f" ({', '.join(cols)})")
                for (d, s, t), cols in sorted(leave_out.items())
            ),
            elapsed_s=round(result.elapsed_s, 2),
            report=result.to_dict(),
        )
        compared = f"{len(result.tables)} table(s) compared with {inputs.source}"
        if passed:
            drift = f", {len(details.drift)} changed on the source since" if details.drift else ""
            return Outcome(f"{compared}: equal{drift}", details=details)
        differing = ", ".join(details.differing[:3]) or "schema"
        if inputs.at_restore_point:
            summary = f"{compared}: DIFFERENT, not explained by drift: {differing}"
            return Outcome(summary, details=details, state="failed")
        summary = (
            f"{compared}: differing {differing} -- the restore point lies before the request, "
            "where write counters cannot tell the source's later writes from damage "
            "(masking changed nothing else: see the mask step)"
        )
        return Outcome(summary, details=details)

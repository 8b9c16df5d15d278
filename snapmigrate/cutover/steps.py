"""The cutover's phases, as steps of the one shape: guardrails, freeze, catch-up,
verify, swap, prove (:data:`CUTOVER`, in that order).

A phase that leaves nothing to look at (guardrails, catch-up, verify, prove)
is done when the journal says so; the freeze is done when the databases are
read-only now, the swap when clients' name leads to the target now.
Rolling back is the steps' ``undo`` in reverse order: swap back, unfreeze.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from snapmigrate.aws import rds
from snapmigrate.cutover import guardrails
from snapmigrate.cutover.context import CutoverContext
from snapmigrate.cutover.dataplane import compare, verify_line
from snapmigrate.cutover.state import (
    CutoverOptions,
    Drift,
    FinalVerification,
    Guardrail,
    Identities,
    stamp,
)
from snapmigrate.cutover.swap import swap_for
from snapmigrate.db import freeze as db_freeze
from snapmigrate.db import probe
from snapmigrate.db.connect import Endpoint
from snapmigrate.db.stats import changed_since, reset_since, write_counters
from snapmigrate.db.verify import TableRef
from snapmigrate.errors import DifferencesFound, OperationFailed, SnapmigrateError
from snapmigrate.migrate import verify as migration_verify
from snapmigrate.migrate.snapshot import SnapshotDetails
from snapmigrate.progress import Status
from snapmigrate.records import Record
from snapmigrate.workflow.step import InputsT, Outcome, Step, Workflow

#: How often a postponed cutover looks at its flag file again.
POSTPONE_POLL_S = 5.0


@dataclass(frozen=True)
class Basis:
    """What the cutover's steps are planned from: its options, and whether a
    resumed attempt finds the source frozen already."""

    options: CutoverOptions
    after_freeze: bool = False


class Phase(Step[Basis, CutoverContext, InputsT]):
    """A cutover step that is done once the journal says so."""

    def is_done(self, ctx: CutoverContext, inputs: InputsT) -> bool:
        return ctx.phase_done(self.name)


# -- guardrails -------------------------------------------------------------------


@dataclass(frozen=True)
class GuardrailsInputs(Record):
    after_freeze: bool = False
    long_transaction_s: float = 60.0
    verify_mode: str = "checksum"
    postpone_flag: str | None = None


class GuardrailsStep(Phase[GuardrailsInputs]):
    """Everything checked before anything changes; each check a pass/fail line."""

    name = "guardrails"
    inputs = GuardrailsInputs
    permissions = ("rds:DescribeDBClusters", "rds:DescribeDBInstances", "secretsmanager:GetSecretValue")

    def plan(self, basis: Basis) -> GuardrailsInputs:
        o = basis.options
        return GuardrailsInputs(
            basis.after_freeze, o.long_transaction_s, o.verify_mode, o.postpone_flag
        )

    def describe(self, inputs: GuardrailsInputs) -> str:
        return "check the target, the verification, long transactions, the swap, the flag"

    def apply(self, ctx: CutoverContext, inputs: GuardrailsInputs) -> Outcome:
        after_freeze = inputs.after_freeze
        target_id = ctx.target.cluster_id or ctx.plan.target.identifier
        cluster = ctx.cluster(target_id) or {}
        instances = rds.list_instances(ctx.aws, target_id)
        checks = [guardrails.target_available(target_id, cluster.get("Status"), instances)]
        _remember_source(ctx)
        checks.append(_target_answers(ctx, target_id, after_freeze))
        if not after_freeze:
            checks.append(_verification(ctx, inputs.verify_mode))
            found = db_freeze.long_transactions(
                ctx.source, inputs.long_transaction_s, connect_map=ctx.connect_map
            )
            checks.append(guardrails.long_transactions(found, inputs.long_transaction_s))
        checks.append(swap_for(ctx.options.mode).ready(ctx))
        if not after_freeze:
            checks.append(guardrails.postponed(inputs.postpone_flag, _postpone(ctx, inputs)))
        ctx.save(replace(ctx.state, guardrails=tuple(checks)))
        for check in checks:
            ctx.say(guardrails.line(check))
        return Outcome(guardrails.verdict(checks))


def _remember_source(ctx: CutoverContext) -> None:
    """Journal the source's endpoints once: after a rename they answer for the target."""
    if ctx.state.source_endpoint:
        return
    source = ctx.cluster(ctx.source.cluster_id or ctx.plan.source.identifier) or {}
    ctx.save(
        replace(
            ctx.state,
            source_endpoint=source.get("Endpoint"),
            source_reader_endpoint=source.get("ReaderEndpoint"),
            source_port=int(source.get("Port") or 5432),
        )
    )


def _target_answers(ctx: CutoverContext, target_id: str, after_freeze: bool) -> Guardrail:
    """The target answers SELECT 1; who answers (and, before the freeze, at the
    source) is journaled for the proof."""
    try:
        target = probe.identity(ctx.target, connect_map=ctx.connect_map)
        seen = replace(ctx.state.identity or Identities(), target=target)
        if not after_freeze:
            seen = replace(seen, source=probe.identity(ctx.source, connect_map=ctx.connect_map))
        ctx.save(replace(ctx.state, identity=seen))
    except SnapmigrateError as e:
        return Guardrail("target answers", False, str(e))
    return Guardrail("target answers", True, f"{target_id} answers SELECT 1 at {target}")


def _verification(ctx: CutoverContext, mode: str) -> Guardrail:
    """The run's verification passed -- or a verification now does."""
    if migration_verify.passed(ctx.record):
        finished = ctx.record.step(migration_verify.NAME).finished
        return Guardrail("verification", True, f"the run's verification passed ({finished})")
    ctx.say("  the run's verification did not pass (or did not run): verifying now")
    result = compare(ctx, mode, drift_allowed=True)
    if result.exit_code == 0:
        return Guardrail("verification", True, f"verified now: {verify_line(result)}")
    return Guardrail(
        "verification", False, f"the copy differs from the source: {verify_line(result)}"
    )


def _postpone(ctx: CutoverContext, inputs: GuardrailsInputs) -> float:
    """Wait while the ``--postpone-flag`` file exists (like gh-ost's); seconds waited."""
    flag, waited = inputs.postpone_flag, 0.0
    while flag and os.path.exists(flag):
        if waited == 0.0 or waited % 60 < POSTPONE_POLL_S:
            ctx.say(
                f"  postponed: {flag} exists; the cutover waits until it is removed "
                "(Ctrl-C to give up)"
            )
        ctx.waiter.clock.sleep(POSTPONE_POLL_S)
        waited += POSTPONE_POLL_S
    return waited


# -- freeze -----------------------------------------------------------------------


@dataclass(frozen=True)
class NoInputs(Record):
    """A step that needs nothing beyond its context."""


def freeze_record(ctx: CutoverContext) -> db_freeze.FreezeRecord | None:
    """The freeze this run made: the cutover's own, else the one made before the snapshot."""
    return ctx.state.freeze or SnapshotDetails.of(ctx.record).freeze


def frozen_now(ctx: CutoverContext) -> bool:
    """Every database of the freeze record is read-only for new sessions now."""
    record = freeze_record(ctx)
    if record is None:
        return False
    names = [d.name for d in record.databases]
    found = db_freeze.read_only_databases(ctx.source, names, connect_map=ctx.connect_map)
    return set(found) == set(names)


class FreezeStep(Step[Basis, CutoverContext, NoInputs]):
    """The source read-only for new sessions, other sessions ended, no write
    transaction left. SQL only, as the master user: no IAM action."""

    name = "freeze"
    inputs = NoInputs

    def plan(self, basis: Basis) -> NoInputs:
        return NoInputs()

    def describe(self, inputs: NoInputs) -> str:
        return "make every database of the source read-only; end other sessions"

    def is_done(self, ctx: CutoverContext, inputs: NoInputs) -> bool:
        return ctx.phase_done(self.name) and frozen_now(ctx)

    def apply(self, ctx: CutoverContext, inputs: NoInputs) -> Outcome:
        """Freeze (or re-assert the freeze made before the snapshot); journal first."""
        state = ctx.state
        before_snapshot = SnapshotDetails.of(ctx.record).freeze
        # A freeze made before the snapshot is adopted -- unless a rollback lifted it since.
        adopted = not state.freeze and not state.history and before_snapshot is not None
        record = freeze_record(ctx)
        if record is None:
            record = db_freeze.prepare(ctx.source, connect_map=ctx.connect_map)
            ctx.save(replace(ctx.state, freeze=record))
        done = db_freeze.apply(ctx.source, record, connect_map=ctx.connect_map)
        first = ctx.state.frozen_at or (record.frozen_at if adopted else done.frozen_at)
        ctx.save(replace(ctx.state, freeze=done, frozen_at=first, freeze_adopted=adopted))
        names = ", ".join(d.name for d in done.databases)
        since = " (frozen since before the snapshot)" if adopted else ""
        return Outcome(
            f"{len(done.databases)} database(s) read-only ({names}){since}; "
            f"{done.terminated} session(s) ended; no write transaction open"
        )

    def undo(self, ctx: CutoverContext, inputs: NoInputs) -> str | None:
        """Put every database's setting back as it was. Idempotent."""
        record = freeze_record(ctx)
        if record is None:
            return None
        db_freeze.unfreeze(ctx.source, record, connect_map=ctx.connect_map)
        return f"{len(record.databases)} database(s) writable again"


# -- catch-up and verify ------------------------------------------------------------


@dataclass(frozen=True)
class CatchUpInputs(Record):
    accept_drift: bool = False


class CatchUpStep(Phase[CatchUpInputs]):
    """Tables the source wrote since the snapshot (write counters) compared now:
    if they differ, the copy is stale."""

    name = "catch-up"
    inputs = CatchUpInputs

    def plan(self, basis: Basis) -> CatchUpInputs:
        return CatchUpInputs(basis.options.accept_drift)

    def describe(self, inputs: CatchUpInputs) -> str:
        return "compare the tables the source wrote since the snapshot"

    def apply(self, ctx: CutoverContext, inputs: CatchUpInputs) -> Outcome:
        before = SnapshotDetails.of(ctx.record).write_counters_before
        if before is None or not before.captured or before.counters is None:
            reason = (before.reason if before else None) or "no counters recorded at the snapshot"
            ctx.save(replace(ctx.state, drift=Drift(checked=False, reason=reason)))
            return Outcome("no write counters from the snapshot: the final verification decides alone")
        then = before.counters
        now = write_counters(ctx.source, connect_map=ctx.connect_map)
        moved = sorted(set(changed_since(then, now)) | set(reset_since(then, now)))
        if not moved:
            ctx.save(replace(ctx.state, drift=Drift(checked=True, tables=(), stale=())))
            return Outcome("no table was written on the source since the snapshot")
        refs = tuple(TableRef(k.schema, k.table, k.database) for k in moved)
        result = compare(ctx, "checksum", tables=refs)
        stale = tuple(sorted(f"{t.database}.{t.schema}.{t.name}" for t in result.tables if not t.equal))
        names = tuple(f"{k.database}.{k.schema}.{k.table}" for k in moved)
        accepted = bool(stale) and inputs.accept_drift
        ctx.save(replace(ctx.state, drift=Drift(True, None, names, stale, accepted)))
        if not stale:
            return Outcome(
                f"{len(names)} table(s) written around the snapshot, and the copy has those "
                f"writes: {', '.join(names)}"
            )
        if inputs.accept_drift:
            return Outcome(
                f"STALE, ACCEPTED (--accept-drift): writes after the snapshot to "
                f"{', '.join(stale)} are not in the copy and will be lost"
            )
        raise DifferencesFound(
            f"the copy is stale: {', '.join(stale)} changed on the source after the snapshot, "
            "so those writes are not in the target. Migrate again from a new snapshot (with "
            "--freeze-before-snapshot for no loss), or pass --accept-drift to cut over without them"
        )


@dataclass(frozen=True)
class VerifyInputs(Record):
    verify_mode: str = "checksum"


class VerifyStep(Phase[VerifyInputs]):
    """The frozen source against the target; any difference stops the cutover."""

    name = "verify"
    inputs = VerifyInputs

    def plan(self, basis: Basis) -> VerifyInputs:
        return VerifyInputs(basis.options.verify_mode)

    def describe(self, inputs: VerifyInputs) -> str:
        return "verify the frozen source against the target"

    def apply(self, ctx: CutoverContext, inputs: VerifyInputs) -> Outcome:
        drift = ctx.state.drift
        accepted = bool(drift and drift.accepted)
        result = compare(ctx, inputs.verify_mode, drift_allowed=accepted)
        line = verify_line(result)
        # equal, or (--accept-drift) different only where drift was accepted
        passed = result.exit_code == 0
        summary = FinalVerification(
            equal=result.equal,
            mode=inputs.verify_mode,
            line=line,
            tables=len(result.tables),
            differing=len(result.differing_tables),
            elapsed_s=round(result.elapsed_s, 3),
            passed=passed,
        )
        ctx.save(replace(ctx.state, verification=summary))
        if not passed:
            raise DifferencesFound(f"final verification failed: {line}")
        how = "equal" if result.equal else "equal but for the accepted drift"
        return Outcome(f"{how}: {line}")


# -- swap and prove -----------------------------------------------------------------


@dataclass(frozen=True)
class SwapInputs(Record):
    mode: str


class SwapStep(Step[Basis, CutoverContext, SwapInputs]):
    """Clients' name moved to the target by the mode's strategy (:mod:`.swap`)."""

    name = "swap"
    inputs = SwapInputs

    def plan(self, basis: Basis) -> SwapInputs | None:
        return SwapInputs(basis.options.mode) if basis.options.mode else None

    def describe(self, inputs: SwapInputs) -> str:
        return f"swap by {inputs.mode}"

    def is_done(self, ctx: CutoverContext, inputs: SwapInputs) -> bool:
        return ctx.phase_done(self.name) and swap_for(inputs.mode).is_done(ctx)

    def apply(self, ctx: CutoverContext, inputs: SwapInputs) -> Outcome:
        """Swap -- after lifting, on the target, a freeze its snapshot carried.

        ``ALTER DATABASE ... SET`` lives in the cluster's catalog, so a snapshot
        of a frozen source (``--freeze-before-snapshot``) restores read-only
        databases: the target gets the settings the source had before.
        """
        thawed = ""
        record = freeze_record(ctx)
        if ctx.state.freeze_adopted and record is not None:
            db_freeze.unfreeze(ctx.target, record, connect_map=ctx.connect_map)
            thawed = (
                f"; {len(record.databases)} database(s) of the target made writable "
                "(the snapshot was taken frozen)"
            )
        done = swap_for(inputs.mode).apply(ctx)
        ctx.relocate()
        return Outcome(done + thawed)

    def undo(self, ctx: CutoverContext, inputs: SwapInputs) -> str | None:
        """Swap back (with the mode's strategy); None when nothing was swapped."""
        line = swap_for(inputs.mode).undo(ctx)
        if line is not None:
            ctx.relocate()
        return line


@dataclass(frozen=True)
class ProveInputs(Record):
    mode: str


class ProveStep(Phase[ProveInputs]):
    """The name clients use reaches the target's server and takes a write."""

    name = "prove"
    inputs = ProveInputs

    def plan(self, basis: Basis) -> ProveInputs | None:
        return ProveInputs(basis.options.mode) if basis.options.mode else None

    def describe(self, inputs: ProveInputs) -> str:
        return "prove the name clients use reaches the target and takes writes"

    def apply(self, ctx: CutoverContext, inputs: ProveInputs) -> Outcome:
        swap = swap_for(inputs.mode)
        identity = ctx.state.identity
        assert identity is not None and identity.target is not None
        target = identity.target
        name = client_endpoint(ctx, swap.client_host(ctx))
        seen: dict[str, str] = {}

        def poll() -> dict[str, Status]:
            try:
                now = probe.identity(name, connect_map=ctx.connect_map, timeout=5)
            except SnapmigrateError as e:
                seen["last"] = str(e)
                return {name.host: Status("not answering")}
            if not now.same_server(target):
                seen["last"] = f"{name.host} still reaches {now}"
                return {name.host: Status("old server")}
            refusal = probe.write_refusal(name, connect_map=ctx.connect_map, timeout=5)
            if refusal:
                seen["last"] = refusal
                return {name.host: Status("read-only")}
            return {name.host: Status("target, writable", done=True)}

        try:
            ctx.wait(f"{name.host} to reach the target", poll, cap=swap.prove_timeout(ctx))
        except SnapmigrateError as e:
            why = seen.get("last", e)
            raise OperationFailed(f"{name.host} did not reach a writable target: {why}") from e
        ctx.save(replace(ctx.state, writable_at=stamp()))
        return Outcome(
            f"{name.host} reaches {ctx.plan.target.identifier} ({target}) and accepts writes"
        )


def client_endpoint(ctx: CutoverContext, host: str) -> Endpoint:
    """The name clients use, as an endpoint with the target's login."""
    target = ctx.target
    tls = "verify-ca" if target.sslrootcert else "require" if target.is_aws else None
    return replace(
        target,
        label="name clients use",
        host=host,
        port=int(ctx.state.source_port or target.port),
        sslmode=target.sslmode or tls,
        cluster_id=None,
    )


#: The cutover, in order. The first step runs before the freeze (and asks);
#: a failure in any later one rolls back.
CUTOVER: Workflow[Basis, CutoverContext] = Workflow(
    "cutover",
    (GuardrailsStep(), FreezeStep(), CatchUpStep(), VerifyStep(), SwapStep(), ProveStep()),
)

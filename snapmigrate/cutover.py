"""Cut clients over to the migrated cluster -- and back.

A snapshot-restore cutover is honest about writes: anything written to the
source after the snapshot is not in the copy. So, for a run that ``migrate``
finished:

1. **guardrails**, all checked before anything changes (each a pass/fail line);
2. **freeze** the source (read-only for new sessions, others ended);
3. **catch-up**: tables the source wrote since the snapshot (write counters)
   are compared now; if they differ the copy is stale: stop and unfreeze;
4. **verify** the frozen source against the target (checksum, or counts);
5. **swap** the Route 53 record, or rename the clusters;
6. **prove** the name clients use reaches the target and takes writes;
7. report how long writes were unavailable.

Every phase is journaled in the run; a failure or timeout after the freeze
rolls back (swap back, unfreeze). ``rollback`` undoes a finished cutover.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any

from snapmigrate.connectmap import ConnectMap
from snapmigrate.db.connect import Endpoint, from_cluster
from snapmigrate.errors import (
    BadInput,
    DifferencesFound,
    Interrupted,
    OperationFailed,
    PreflightBlocked,
    SnapmigrateError,
)
from snapmigrate.journal import Journal, RunRecord
from snapmigrate.model import Plan
from snapmigrate.steps import cutover_dns, cutover_rename
from snapmigrate.steps import freeze as freeze_phase
from snapmigrate.steps.phase import MODES, CutoverContext, CutoverOptions, seconds_between, stamp
from snapmigrate.waiting import Clock, Progress, Status, SystemClock, Waiter

log = logging.getLogger(__name__)

PHASES = ("guardrails", "freeze", "catch-up", "verify", "swap", "prove")
POSTPONE_POLL_S = 5.0


@dataclass(frozen=True)
class Guardrail:
    """One check before anything changes."""

    name: str
    passed: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "message": self.message}


@dataclass(frozen=True)
class CutoverResult:
    """The run and its cutover section, as this invocation left them."""

    record: RunRecord
    note: str = ""

    @property
    def state(self) -> Mapping[str, Any]:
        return self.record.cutover

    def to_dict(self) -> dict[str, Any]:
        c = self.state
        return {
            "run_id": self.record.run_id,
            "source": self.record.source,
            "target": self.record.target,
            "mode": c.get("mode"),
            "state": c.get("state"),
            "started": c.get("started"),
            "finished": c.get("finished"),
            "frozen_at": c.get("frozen_at"),
            "writable_at": c.get("writable_at"),
            "unavailable_s": c.get("unavailable_s"),
            "guardrails": list(c.get("guardrails", [])),
            "phases": list(c.get("phases", [])),
            "verification": c.get("verification"),
            "drift": c.get("drift"),
            "swap": {"dns": c.get("dns"), "rename": c.get("rename")},
            "identity": c.get("identity"),
            "rollback": c.get("rollback"),
            "writes_since_cutover": c.get("writes_since_cutover"),
            "error": c.get("error"),
            "note": self.note,
        }


def swap_module(mode: str) -> ModuleType:
    return cutover_dns if mode == "dns" else cutover_rename


def resolve_options(options: CutoverOptions | None, plan: Plan, earlier: Mapping[str, Any]) -> CutoverOptions:
    """The options given; what they leave out from an earlier attempt, else from the plan; checked.

    ``mode=""`` means "not given".
    """
    given = options or CutoverOptions(mode="")
    before = CutoverOptions.from_dict(earlier["options"]) if earlier.get("options") else None
    planned = plan.target.cutover
    mode = given.mode or (before.mode if before else "") or (planned.mode if planned.mode in MODES else "")
    if not mode:
        raise BadInput("say how to cut over: --mode dns (with --dns-zone-id and --dns-name) or --mode rename")
    if mode not in MODES:
        raise BadInput("--mode must be dns or rename")
    if earlier.get("state") in ("running", "interrupted", "failed") and earlier.get("mode") not in (None, mode):
        raise BadInput(
            f"a {earlier.get('mode')} cutover of this run is unfinished: resume it with --mode {earlier.get('mode')} "
            "or roll it back first with 'snapmigrate rollback'"
        )
    options = replace(given, mode=mode)
    if mode == "dns":
        zone = given.zone_id or (before.zone_id if before else None) or (planned.zone_id if planned.mode == "dns" else None)
        name = given.record_name or (before.record_name if before else None) or (planned.record_name if planned.mode == "dns" else None)
        options = replace(options, zone_id=zone, record_name=name)
        if not (zone and name):
            raise BadInput("--mode dns needs --dns-zone-id and --dns-name: the record clients use")
    elif given.zone_id or given.record_name or given.reader_record_name or given.set_identifier:
        raise BadInput("--dns-zone-id/--dns-name/--reader-dns-name/--set-identifier only apply with --mode dns")
    if options.verify_mode not in ("checksum", "counts"):
        raise BadInput("--verify must be checksum or counts")
    if options.timeout_s <= 0 or options.long_transaction_s <= 0:
        raise BadInput("--timeout and --long-transaction-seconds must be positive")
    return options


def locate(clients: Any, plan: Plan, run_id: str) -> tuple[str | None, str | None]:
    """Where the source and the target are now (a rename moves them): their identifiers."""
    from snapmigrate.discover import describe_cluster

    source, target = plan.source.identifier, plan.target.identifier
    old = cutover_rename.old_name(source, run_id)
    at_source = describe_cluster(clients, source)
    if at_source is not None and _is_target(at_source, run_id):
        return (old if describe_cluster(clients, old) is not None else None), source
    where_source = source if at_source is not None else (old if describe_cluster(clients, old) is not None else None)
    where_target = target if describe_cluster(clients, target) is not None else None
    return where_source, where_target


def _is_target(cluster: Mapping[str, Any], run_id: str) -> bool:
    from snapmigrate.aws import tags_of
    from snapmigrate.model import TAG_ROLE, TAG_RUN_ID

    tags = tags_of(dict(cluster))
    return tags.get(TAG_RUN_ID) == run_id and tags.get(TAG_ROLE) == "target"


class Cutover:
    """Runs (and resumes, and rolls back) the cutover of a migration run."""

    def __init__(
        self,
        clients: Any,
        journal: Journal,
        *,
        connect_map: str | None = None,
        clock: Clock | None = None,
        progress: Progress | None = None,
        say: Callable[[str], None] | None = None,
        confirm: Callable[[str], bool] | None = None,
        on_phase: Callable[[str, str], None] | None = None,
    ) -> None:
        self.clients = clients
        self.journal = journal
        self.connect_map_path = connect_map
        self.clock = clock or SystemClock()
        self.waiter = Waiter(clock=self.clock, progress=progress)
        self.say = say or log.info
        self.confirm = confirm
        self.on_phase = on_phase or (lambda kind, name: None)

    # -- entry points -------------------------------------------------------

    def run(self, run_id: str, options: CutoverOptions | None = None) -> CutoverResult:
        """Cut run ``run_id`` over (or resume its unfinished cutover)."""
        record = self.journal.load(run_id)
        if record.state != "done":
            raise BadInput(
                f"run {run_id} is not migrated yet (state {record.state}): finish it with "
                f"'snapmigrate migrate --resume {run_id}' first"
            )
        plan = Plan.from_dict(record.plan)
        earlier = dict(record.cutover)
        if earlier.get("state") == "done":
            return CutoverResult(record, note=f"run {run_id} was already cut over at {earlier.get('finished')}: nothing to do")
        if earlier.get("state") == "rolled-back":
            earlier = {"history": [*earlier.get("history", []), _summary(earlier)]}
        options = resolve_options(options, plan, earlier)
        with self.journal.lock(run_id):
            resumed = earlier.get("state") in ("running", "interrupted", "failed") and bool(earlier.get("freeze"))
            record = replace(record, cutover={**earlier, "mode": options.mode, "options": options.to_dict(), "state": "running",
                                              "started": earlier.get("started") if resumed else stamp(), "error": None,
                                              "phases": earlier.get("phases") if resumed else []})
            self.journal.save(record)
            ctx = self._context(record, plan, options)
            return self._run(ctx, resumed=resumed)

    def rollback(self, run_id: str) -> CutoverResult:
        """Undo the cutover (swap back, unfreeze), or lift a freeze made before the snapshot."""
        record = self.journal.load(run_id)
        plan = Plan.from_dict(record.plan)
        state = dict(record.cutover)
        if not state.get("freeze") and not freeze_phase.before_snapshot(record):
            last = f" (its last cutover attempt was {state['state']} before changing anything)" if state.get("state") else ""
            raise BadInput(f"run {run_id} has no cutover (and no freeze) to roll back{last}")
        mode = state.get("mode")
        options = CutoverOptions.from_dict(state["options"]) if state.get("options") else CutoverOptions(mode=mode or "rename")
        with self.journal.lock(run_id):
            ctx = self._context(record, plan, options)
            writes = self._writes_since_cutover(ctx) if state.get("state") == "done" else None
            if writes:
                total = sum(t["inserted"] + t["updated"] + t["deleted"] for t in writes)
                self.say(
                    f"WARNING: {total} row change(s) in {len(writes)} table(s) landed on {plan.target.identifier} after "
                    "the cutover; they are NOT copied back to the source and will be lost to clients after the rollback"
                )
            if self.confirm is not None and not self.confirm(self._rollback_question(ctx, writes)):
                raise BadInput("not rolled back: nothing was changed")
            lines = self._undo(ctx, mode)
            counted = {"writes_since_cutover": writes} if writes is not None else {}  # keep an earlier count
            ctx.update(state="rolled-back", rolled_back_at=stamp(), rollback=lines, **counted)
            return CutoverResult(ctx.record, note="; ".join(lines))

    # -- the sequence -------------------------------------------------------

    def _endpoints(self, plan: Plan, run_id: str) -> tuple[Endpoint, Endpoint]:
        """The source's and the target's endpoints where they are now (a rename moves them)."""
        source_id, target_id = locate(self.clients, plan, run_id)
        if target_id is None:
            raise BadInput(f"the target cluster of run {run_id} ({plan.target.identifier}) no longer exists")
        if source_id is None:
            raise BadInput(f"the source cluster of run {run_id} ({plan.source.identifier}) no longer exists")
        return from_cluster(self.clients, source_id, "source"), from_cluster(self.clients, target_id, "target")

    def _relocate(self, ctx: CutoverContext) -> None:
        ctx.source, ctx.target = self._endpoints(ctx.plan, ctx.run_id)

    def _context(self, record: RunRecord, plan: Plan, options: CutoverOptions) -> CutoverContext:
        source, target = self._endpoints(plan, record.run_id)
        return CutoverContext(
            clients=self.clients,
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
        frozen = resumed and freeze_phase.is_done(ctx)
        try:
            self._phase(ctx, "guardrails", lambda: self._guardrails(ctx, after_freeze=frozen))
            if not frozen and self.confirm is not None and not self.confirm(self._question(ctx)):
                ctx.update(state="cancelled", finished=stamp())
                raise BadInput("not cut over: nothing was changed")
        except KeyboardInterrupt:
            ctx.update(state="interrupted", finished=stamp(), error="interrupted before the freeze: nothing was changed")
            raise Interrupted(f"cutover of run {ctx.run_id} interrupted before the freeze: nothing was changed") from None
        except SnapmigrateError as e:
            if ctx.state.get("state") == "running":
                ctx.update(state="blocked", finished=stamp(), error=str(e))
            raise
        ctx.deadline = self.clock.monotonic() + ctx.options.timeout_s
        try:
            self._phase(ctx, "freeze", lambda: freeze_phase.apply(ctx), done=lambda: freeze_phase.is_done(ctx))
            self._phase(ctx, "catch-up", lambda: self._catch_up(ctx))
            self._phase(ctx, "verify", lambda: self._verify(ctx))
            module = swap_module(ctx.options.mode)
            self._phase(ctx, "swap", lambda: self._swap(ctx, module), done=lambda: module.is_done(ctx))
            self._phase(ctx, "prove", lambda: self._prove(ctx))
        except KeyboardInterrupt:
            self._fail(ctx, "interrupted by the user")
            raise Interrupted(f"cutover of run {ctx.run_id} interrupted and rolled back") from None
        except SnapmigrateError as e:
            self._fail(ctx, str(e))
            raise
        except Exception as e:
            self._fail(ctx, f"internal error: {type(e).__name__}: {e}")
            raise
        writable_at = ctx.state["writable_at"]
        counters = self._target_counters(ctx)
        ctx.update(
            state="done",
            finished=stamp(),
            unavailable_s=round(seconds_between(ctx.state["frozen_at"], writable_at), 3),
            target_counters=counters,
        )
        self.say(f"cut over: writes were unavailable for {ctx.state['unavailable_s']:.1f} s")
        return CutoverResult(ctx.record)

    def _phase(self, ctx: CutoverContext, name: str, run: Callable[[], str], *, done: Callable[[], bool] | None = None) -> None:
        phases = [dict(p) for p in ctx.state.get("phases", [])]
        entry = next((p for p in phases if p["name"] == name), None)
        if entry is not None and entry.get("state") == "done" and (done is None or done()):
            self.say(f"[{name}] done earlier: {entry.get('outcome')}")
            return
        if entry is None:
            entry = {"name": name}
            phases.append(entry)
        if ctx.deadline is not None:
            ctx.remaining()  # past the deadline: a timeout, which rolls back
        entry.update(state="running", started=stamp(), finished=None, outcome=None, attempts=int(entry.get("attempts", 0)) + 1)
        ctx.update(phases=phases)
        self.on_phase("started", name)
        try:
            outcome = run()
        except BaseException as e:
            entry.update(state="failed", finished=stamp(), outcome=str(e) or type(e).__name__)
            ctx.update(phases=phases)
            raise
        entry.update(state="done", finished=stamp(), outcome=outcome)
        entry["took_s"] = round(seconds_between(entry["started"], entry["finished"]), 3)
        ctx.update(phases=phases)
        self.say(f"[{name}] {outcome}")
        self.on_phase("finished", name)

    def _fail(self, ctx: CutoverContext, reason: str) -> None:
        """After the freeze, any failure rolls back: swap back, unfreeze."""
        if not ctx.state.get("freeze"):
            ctx.update(state="failed", finished=stamp(), error=reason)
            return
        self.say(f"cutover failed ({reason}): rolling back")
        try:
            lines = self._undo(ctx, ctx.options.mode)
        except BaseException as e:
            ctx.update(state="failed", finished=stamp(), error=f"{reason}; ROLLBACK INCOMPLETE: {e}")
            raise OperationFailed(
                f"cutover failed ({reason}) and rolling back failed too ({e})",
                hint=f"run 'snapmigrate rollback {ctx.run_id}' to finish the rollback",
            ) from e
        ctx.update(state="rolled-back", finished=stamp(), error=reason, rollback=lines)

    def _undo(self, ctx: CutoverContext, mode: str | None) -> list[str]:
        lines = []
        if mode in MODES and (mode == "rename" or ctx.state.get("dns")):
            lines.append(f"swap: {swap_module(mode).undo(ctx)}")
            self._relocate(ctx)
        if freeze_phase.record_of(ctx) is not None:
            lines.append(f"freeze: {freeze_phase.undo(ctx)}")
        for line in lines:
            self.say(f"[rollback] {line}")
        return lines

    # -- guardrails -----------------------------------------------------------

    def _guardrails(self, ctx: CutoverContext, *, after_freeze: bool) -> str:
        from snapmigrate.db import probe

        checks: list[Guardrail] = []
        target_id = ctx.target.cluster_id or ctx.plan.target.identifier
        checks.append(self._target_available(ctx, target_id))
        source = ctx.cluster(ctx.source.cluster_id or ctx.plan.source.identifier) or {}
        if not ctx.state.get("source_endpoint"):
            ctx.update(source_endpoint=source.get("Endpoint"), source_reader_endpoint=source.get("ReaderEndpoint"),
                       source_port=int(source.get("Port") or 5432))
        try:
            target_identity = probe.identity(ctx.target, connect_map=ctx.connect_map)
            checks.append(Guardrail("target answers", True, f"{target_id} answers SELECT 1 at {target_identity}"))
            identities = dict(ctx.state.get("identity") or {})
            identities["target"] = target_identity.to_dict()
            if not after_freeze:
                identities["source"] = probe.identity(ctx.source, connect_map=ctx.connect_map).to_dict()
            ctx.update(identity=identities)
        except SnapmigrateError as e:
            checks.append(Guardrail("target answers", False, str(e)))
        if not after_freeze:
            checks.append(self._verification_passed(ctx))
            checks.append(self._long_transactions(ctx))
        checks.append(self._swap_ready(ctx))
        if not after_freeze:
            checks.append(self._postponed(ctx))
        ctx.update(guardrails=[c.to_dict() for c in checks])
        for c in checks:
            self.say(f"  {'ok  ' if c.passed else 'FAIL'} {c.name}: {c.message}")
        failed = [c for c in checks if not c.passed]
        if failed:
            raise PreflightBlocked(
                f"{len(failed)} guardrail(s) failed, nothing was changed: " + "; ".join(f"{c.name}: {c.message}" for c in failed)
            )
        return f"{len(checks)} checks passed"

    def _target_available(self, ctx: CutoverContext, target_id: str) -> Guardrail:
        from snapmigrate.aws import paginate

        cluster = ctx.cluster(target_id) or {}
        status = cluster.get("Status")
        instances = list(paginate(ctx.clients.rds(), "describe_db_instances", "DBInstances",
                                  Filters=[{"Name": "db-cluster-id", "Values": [target_id]}]))
        busy = [f"{i['DBInstanceIdentifier']} {i.get('DBInstanceStatus')}" for i in instances if i.get("DBInstanceStatus") != "available"]
        if status != "available" or busy or not instances:
            what = f"cluster {status}" + (f"; instances {', '.join(busy)}" if busy else "") + ("" if instances else "; no instance")
            return Guardrail("target available", False, f"{target_id}: {what}")
        return Guardrail("target available", True, f"{target_id} and its {len(instances)} instance(s) are available")

    def _verification_passed(self, ctx: CutoverContext) -> Guardrail:
        try:
            verify = ctx.record.step("verify")
        except KeyError:
            verify = None
        if verify is not None and verify.state == "done" and verify.details.get("equal") is True:
            return Guardrail("verification", True, f"the run's verification passed ({verify.finished})")
        self.say("  the run's verification did not pass (or did not run): verifying now")
        result = self._compare(ctx, ctx.options.verify_mode, drift_allowed=True)
        if result.exit_code == 0:
            return Guardrail("verification", True, f"verified now: {_verify_line(result)}")
        return Guardrail("verification", False, f"the copy differs from the source: {_verify_line(result)}")

    def _long_transactions(self, ctx: CutoverContext) -> Guardrail:
        from snapmigrate.db.freeze import long_transactions

        found = long_transactions(ctx.source, ctx.options.long_transaction_s, connect_map=ctx.connect_map)
        if found:
            listed = ", ".join(f"pid {t.pid} ({t.user}@{t.database}, {t.seconds:.0f} s)" for t in found[:5])
            return Guardrail("long transactions", False, f"{len(found)} open longer than {ctx.options.long_transaction_s:.0f} s: {listed}")
        return Guardrail("long transactions", True, f"none open longer than {ctx.options.long_transaction_s:.0f} s on the source")

    def _swap_ready(self, ctx: CutoverContext) -> Guardrail:
        from snapmigrate import swap

        if ctx.options.mode == "rename":
            cutover_rename.check_names(ctx)  # a collision is bad input (exit 2)
            source, old, target = cutover_rename.names(ctx)
            return Guardrail("names", True, f"{source} -> {old} and {target} -> {source} are free to take")
        if not ctx.state.get("dns"):
            ctx.update(dns=cutover_dns.prepare(ctx))
        writer, _, source_endpoint = cutover_dns.endpoints(ctx)
        record = swap.Record.from_dict(ctx.state["dns"]["writer"])
        if swap.same_host(record.value, source_endpoint) or swap.same_host(record.value, writer):
            return Guardrail("dns record", True, f"{record.name.rstrip('.')} (TTL {record.ttl} s) points at {record.value}")
        return Guardrail("dns record", False, f"{record.name.rstrip('.')} points at {record.value}, neither the source nor the target")

    def _postponed(self, ctx: CutoverContext) -> Guardrail:
        flag = ctx.options.postpone_flag
        if not flag:
            return Guardrail("postpone flag", True, "none given")
        waited = 0.0
        while os.path.exists(flag):
            if waited == 0.0 or waited % 60 < POSTPONE_POLL_S:
                self.say(f"  postponed: {flag} exists; the cutover waits until it is removed (Ctrl-C to give up)")
            self.clock.sleep(POSTPONE_POLL_S)
            waited += POSTPONE_POLL_S
        return Guardrail("postpone flag", True, f"{flag} absent" + (f" (waited {waited:.0f} s)" if waited else ""))

    # -- after the freeze ------------------------------------------------------

    def _compare(self, ctx: CutoverContext, mode: str, *, tables: tuple[Any, ...] | None = None,
                 drift_allowed: bool = False) -> Any:
        from snapmigrate.db.verify import VerifyOptions, verify
        from snapmigrate.steps.dataplane import baseline

        snapshot = _snapshot_details(ctx.record)
        counters = {"before": snapshot.get("write_counters_before"), "after": snapshot.get("write_counters_after")}
        drift = baseline(counters) if drift_allowed else None
        options = VerifyOptions(mode=mode, tables=tables, baseline=drift, allow_drift=drift is not None)
        return verify(ctx.source, ctx.target, options, connect_map=ctx.connect_map, progress=log.debug, sleep=self.clock.sleep)

    def _catch_up(self, ctx: CutoverContext) -> str:
        from snapmigrate.db.stats import WriteCounters, changed_since, reset_since, write_counters
        from snapmigrate.db.verify import TableRef

        before = _snapshot_details(ctx.record).get("write_counters_before") or {}
        if not before.get("captured"):
            ctx.update(drift={"checked": False, "reason": before.get("reason", "no counters recorded at the snapshot")})
            return "no write counters from the snapshot: the final verification decides alone"
        then = WriteCounters.from_dict(before["counters"])
        now = write_counters(ctx.source, connect_map=ctx.connect_map)
        moved = sorted(set(changed_since(then, now)) | set(reset_since(then, now)))
        if not moved:
            ctx.update(drift={"checked": True, "tables": [], "stale": []})
            return "no table was written on the source since the snapshot"
        refs = tuple(TableRef(k.schema, k.table, k.database) for k in moved)
        result = self._compare(ctx, "checksum", tables=refs)
        stale = sorted(f"{t.database}.{t.schema}.{t.name}" for t in result.tables if not t.equal)
        names = [f"{k.database}.{k.schema}.{k.table}" for k in moved]
        ctx.update(drift={"checked": True, "tables": names, "stale": stale, "accepted": bool(stale) and ctx.options.accept_drift})
        if not stale:
            return f"{len(names)} table(s) written around the snapshot, and the copy has those writes: {', '.join(names)}"
        if ctx.options.accept_drift:
            return f"STALE, ACCEPTED (--accept-drift): writes after the snapshot to {', '.join(stale)} are not in the copy and will be lost"
        raise DifferencesFound(
            f"the copy is stale: {', '.join(stale)} changed on the source after the snapshot, so those writes are not "
            "in the target. Migrate again from a new snapshot (with --freeze-before-snapshot for no loss), or pass "
            "--accept-drift to cut over without them"
        )

    def _verify(self, ctx: CutoverContext) -> str:
        accepted = bool((ctx.state.get("drift") or {}).get("accepted"))
        result = self._compare(ctx, ctx.options.verify_mode, drift_allowed=accepted)
        summary = {"equal": result.equal, "mode": ctx.options.verify_mode, "line": _verify_line(result),
                   "tables": len(result.tables), "differing": len(result.differing_tables), "elapsed_s": round(result.elapsed_s, 3)}
        passed = result.exit_code == 0  # equal, or (--accept-drift) different only where drift was accepted
        summary["passed"] = passed
        ctx.update(verification=summary)
        if not passed:
            raise DifferencesFound(f"final verification failed: {_verify_line(result)}")
        return f"{'equal' if result.equal else 'equal but for the accepted drift'}: {_verify_line(result)}"

    def _swap(self, ctx: CutoverContext, module: ModuleType) -> str:
        """Swap -- after lifting, on the target, a freeze its snapshot carried.

        ``ALTER DATABASE ... SET`` lives in the cluster's catalog, so a snapshot
        of a frozen source (``--freeze-before-snapshot``) restores read-only
        databases: the target gets the settings the source had before.
        """
        thawed = ""
        if ctx.state.get("freeze_adopted"):
            record = freeze_phase.record_of(ctx)
            if record is not None:
                from snapmigrate.db.freeze import unfreeze

                unfreeze(ctx.target, record, connect_map=ctx.connect_map)
                thawed = f"; {len(record.databases)} database(s) of the target made writable (the snapshot was taken frozen)"
        done = module.apply(ctx)
        self._relocate(ctx)
        return done + thawed

    def _client_endpoint(self, ctx: CutoverContext) -> Endpoint:
        """The name clients use: the DNS record, or the source's original endpoint."""
        if ctx.options.mode == "dns":
            host = (ctx.options.record_name or "").rstrip(".")
        else:
            host = ctx.state.get("source_endpoint") or ""
        sslmode = ctx.target.sslmode or ("verify-ca" if ctx.target.sslrootcert else "require" if ctx.target.is_aws else None)
        return replace(ctx.target, label="name clients use", host=host, port=int(ctx.state.get("source_port") or ctx.target.port),
                       sslmode=sslmode, cluster_id=None)

    def _prove(self, ctx: CutoverContext) -> str:
        from snapmigrate.db import probe

        target = probe.ServerIdentity.from_dict(ctx.state["identity"]["target"])
        name = self._client_endpoint(ctx)
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

        cap = ctx.options.prove_timeout_s
        if ctx.options.mode == "dns" and ctx.state.get("dns"):
            cap = max(cap, float(ctx.state["dns"]["writer"].get("ttl", 60)) + 30)
        try:
            ctx.wait(f"{name.host} to reach the target", poll, cap=cap)
        except SnapmigrateError as e:
            raise OperationFailed(f"{name.host} did not reach a writable target: {seen.get('last', e)}") from e
        ctx.update(writable_at=stamp())
        return f"{name.host} reaches {ctx.plan.target.identifier} ({target}) and accepts writes"

    # -- rollback helpers ----------------------------------------------------------

    def _target_counters(self, ctx: CutoverContext) -> dict[str, Any] | None:
        from snapmigrate.db.stats import write_counters

        try:
            return write_counters(ctx.target, connect_map=ctx.connect_map).to_dict()
        except SnapmigrateError as e:
            log.warning("could not read the target's write counters (rollback cannot count later writes): %s", e)
            return None

    def _writes_since_cutover(self, ctx: CutoverContext) -> list[dict[str, Any]] | None:
        from snapmigrate.db.stats import FLUSH_DELAY_S, WriteCounters, write_counters

        then = ctx.state.get("target_counters")
        if not then:
            return None
        before = WriteCounters.from_dict(then)
        now = write_counters(ctx.target, connect_map=ctx.connect_map)
        out = []
        for key, counts in sorted(now.tables.items()):
            old = before.tables.get(key)
            base = old or type(counts)(0, 0, 0)
            delta = [max(0, a - b) for a, b in zip(counts, base, strict=True)]
            if any(delta):
                out.append({"table": f"{key.database}.{key.schema}.{key.table}", "inserted": delta[0], "updated": delta[1], "deleted": delta[2]})
        if out:
            log.info("counters of sessions still writing may lag up to %.0f s: these counts are a floor", FLUSH_DELAY_S)
        return out

    # -- questions ---------------------------------------------------------------

    def _question(self, ctx: CutoverContext) -> str:
        src, tgt = ctx.plan.source.identifier, ctx.plan.target.identifier
        how = (f"point {ctx.options.record_name} at {tgt}" if ctx.options.mode == "dns"
               else f"rename {src} -> {cutover_rename.old_name(src, ctx.run_id)} and {tgt} -> {src}")
        return f"Freeze writes on {src}, verify, then {how}?"

    def _rollback_question(self, ctx: CutoverContext, writes: list[dict[str, Any]] | None) -> str:
        lost = f" ({sum(t['inserted'] + t['updated'] + t['deleted'] for t in writes)} row change(s) on the target will not come back)" if writes else ""
        return f"Roll back run {ctx.run_id}: swap clients back to {ctx.plan.source.identifier} and unfreeze it{lost}?"


def _snapshot_details(record: RunRecord) -> Mapping[str, Any]:
    try:
        return record.step("snapshot").details
    except KeyError:
        return {}


def _verify_line(result: Any) -> str:
    return (f"{len(result.tables)} table(s), {len(result.differing_tables)} differing, "
            f"{len(result.schema_differences)} schema difference(s), {result.mode}, {result.elapsed_s:.2f} s")


def _summary(state: Mapping[str, Any]) -> dict[str, Any]:
    return {k: state.get(k) for k in ("mode", "state", "started", "finished", "error", "unavailable_s")}


@dataclass
class PrepareResult:
    """``cutover --prepare``: the TTL lowered ahead of time."""

    record: str
    old_ttl: int
    new_ttl: int
    waited_s: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def prepare_dns(cutover: Cutover, run_id: str, options: CutoverOptions, ttl: int) -> PrepareResult:
    """Lower the record's TTL to ``ttl`` and wait one old TTL, so caches hold the
    old answer no longer than ``ttl`` at cutover time. Changes nothing else."""
    from snapmigrate import swap

    record = cutover.journal.load(run_id)
    plan = Plan.from_dict(record.plan)
    options = resolve_options(options, plan, {})
    if options.mode != "dns":
        raise BadInput("--prepare lowers a DNS record's TTL: it needs --mode dns")
    if not 0 <= ttl <= 86400:
        raise BadInput("--ttl must be 0 to 86400 seconds")
    assert options.zone_id and options.record_name
    source = (plan.source.endpoint or "")
    rec = swap.record_for(cutover.clients, options.zone_id, options.record_name, source, options.set_identifier)
    if rec.ttl <= ttl:
        return PrepareResult(rec.name, rec.ttl, rec.ttl, 0.0, [f"TTL already {rec.ttl} s: nothing to do"])
    change = swap.upsert(cutover.clients, rec, rec.value, ttl=ttl, comment=f"snapmigrate prepare {run_id}")

    def insync() -> dict[str, Status]:
        status = swap.change_status(cutover.clients, change)
        return {change: Status(status, done=status == "INSYNC")}

    cutover.waiter.wait("Route 53 change INSYNC", insync, _short_policy(600))
    cutover.say(f"lowered the TTL of {rec.name} from {rec.ttl} s to {ttl} s; waiting one old TTL for caches to expire")
    cutover.clock.sleep(rec.ttl)
    saved = replace(record, cutover={**record.cutover, "prepared": {"record": rec.to_dict(), "ttl": ttl, "at": stamp()}})
    cutover.journal.save(saved)
    return PrepareResult(rec.name, rec.ttl, ttl, float(rec.ttl), [f"raise the TTL again after the cutover (it was {rec.ttl} s)"])


def _short_policy(timeout_s: float) -> Any:
    from snapmigrate.waiting import WaitPolicy

    return WaitPolicy(timeout_s=timeout_s, first_delay_s=1.0, max_delay_s=10.0)

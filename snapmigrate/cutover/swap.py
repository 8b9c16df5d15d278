"""How clients are moved: one :class:`Swap` strategy per cutover mode, chosen once.

Each strategy knows the whole of its mode -- what the plan checks, how the
cutover's options are completed, the guardrail, the change and its undo,
the name clients use, how long proving it may take, and how reports show
it. This module is the one place a mode name is looked at: everything else
asks :func:`swap_for`. Adding a mode is adding a strategy to :data:`SWAPS`.

- :class:`DnsSwap`: point the Route 53 CNAME clients use (and the reader
  record, when given) at the target's endpoints, and wait until INSYNC.
- :class:`RenameSwap`: the source becomes ``<source>-old-<run>``, the target
  takes the source's name, and with it the endpoint host names clients use.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from snapmigrate.aws import Aws, rds, route53
from snapmigrate.cutover import guardrails
from snapmigrate.cutover.context import CutoverContext, old_name
from snapmigrate.cutover.state import CutoverOptions, CutoverState, DnsRecords, Guardrail
from snapmigrate.errors import BadInput
from snapmigrate.model import CutoverSpec, Level, SourceCluster
from snapmigrate.progress import Status
from snapmigrate.records import to_json

if TYPE_CHECKING:
    from snapmigrate.plan.discover import ZoneState

#: The plan's cutover when clients are not moved.
NO_CUTOVER = "none"
#: Run ids are 8 characters: the rename's ``<source>-old-<run>`` must fit RDS's 63.
RUN_ID_LENGTH = 8


class Swap(ABC):
    """One way of moving clients from the source to the target, and back."""

    mode: ClassVar[str]
    permissions: ClassVar[tuple[str, ...]]

    # -- the plan ---------------------------------------------------------

    @abstractmethod
    def check_plan(self, source_id: str, zone_id: str | None, record_name: str | None) -> None:
        """Bad input (exit 2) in ``plan --cutover MODE``'s options."""

    @abstractmethod
    def plan(
        self, source: SourceCluster, target: str, zone_id: str | None, record_name: str | None,
        zone: ZoneState | None,
    ) -> tuple[CutoverSpec, Level, str]:  # fmt: skip
        """The plan's cutover, and the preflight's finding about it."""

    # -- the cutover ------------------------------------------------------

    @abstractmethod
    def resolve(
        self, given: CutoverOptions, before: CutoverOptions | None, planned: CutoverSpec
    ) -> CutoverOptions:
        """``given`` completed from an earlier attempt, else from the plan; checked."""

    @abstractmethod
    def ready(self, ctx: CutoverContext) -> Guardrail:
        """The guardrail: the swap can be made (journals what it will change)."""

    @abstractmethod
    def question(self, ctx: CutoverContext) -> str:
        """What the swap will do, for the confirmation prompt."""

    @abstractmethod
    def is_done(self, ctx: CutoverContext) -> bool:
        """Clients' name already leads to the target."""

    @abstractmethod
    def apply(self, ctx: CutoverContext) -> str:
        """Make the swap, wait until AWS confirms it; one line saying what changed."""

    @abstractmethod
    def undo(self, ctx: CutoverContext) -> str | None:
        """Put everything back as before the cutover; None when nothing was changed."""

    @abstractmethod
    def client_host(self, ctx: CutoverContext) -> str:
        """The host name clients use, which must lead to the target once swapped."""

    def prove_timeout(self, ctx: CutoverContext) -> float:
        """How long proving the swap may take."""
        return ctx.options.prove_timeout_s

    def ttl_record(self, aws: Aws, options: CutoverOptions, points_at: str | None) -> route53.Record:
        """The record whose TTL ``cutover --prepare`` lowers ahead of the cutover."""
        raise BadInput("--prepare lowers a DNS record's TTL: it needs --mode dns")

    # -- reports ----------------------------------------------------------

    def journaled(self, state: CutoverState) -> Any:
        """What the swap journaled before changing anything (the report's ``swap``)."""
        return None

    def describe(self, swap: Mapping[str, Any]) -> str:
        """The mode as the report's headline names it."""
        return self.mode


class DnsSwap(Swap):
    """Point the Route 53 record(s) clients use at the target's endpoints.

    The records as they were are journaled before the change; ``undo`` puts
    them back exactly (value, TTL, weight). Weighted and private zones work alike.
    """

    mode = "dns"
    permissions = (
        "route53:GetHostedZone",
        "route53:ListResourceRecordSets",
        "route53:ChangeResourceRecordSets",
        "route53:GetChange",
    )

    def check_plan(self, source_id: str, zone_id: str | None, record_name: str | None) -> None:
        if not (zone_id and record_name):
            raise BadInput(
                "--cutover dns needs --dns-zone-id and --dns-name (the record clients use)"
            )

    def plan(
        self, source: SourceCluster, target: str, zone_id: str | None, record_name: str | None,
        zone: ZoneState | None,
    ) -> tuple[CutoverSpec, Level, str]:  # fmt: skip
        spec = CutoverSpec(mode=self.mode, zone_id=zone_id, record_name=record_name)
        if zone is None or not zone.exists:
            return spec, "block", f"Route 53 hosted zone {zone_id} does not exist: check --dns-zone-id"
        if not zone.record_exists:
            return spec, "block", (
                f"record {record_name} (CNAME) does not exist in zone {zone.name}: clients must "
                "already use it, pointing at the source's endpoint; create it first or use "
                "--cutover rename"
            )
        if zone.record_value and source.endpoint and zone.record_value.rstrip(".") != source.endpoint:
            return spec, "warn", (
                f"{record_name} points at {zone.record_value}, not at the source's endpoint "
                f"{source.endpoint}"
            )
        private = " (private zone)" if zone.private else ""
        return spec, "ok", (
            f"cutover by DNS: {record_name}{private} will point at the target's writer endpoint"
        )

    def resolve(
        self, given: CutoverOptions, before: CutoverOptions | None, planned: CutoverSpec
    ) -> CutoverOptions:
        from_plan = planned if planned.mode == self.mode else CutoverSpec()
        zone = given.zone_id or (before.zone_id if before else None) or from_plan.zone_id
        name = given.record_name or (before.record_name if before else None) or from_plan.record_name
        if not (zone and name):
            raise BadInput("--mode dns needs --dns-zone-id and --dns-name: the record clients use")
        return replace(given, mode=self.mode, zone_id=zone, record_name=name)

    def _endpoints(self, ctx: CutoverContext) -> tuple[str, str]:
        """(the target's writer endpoint, its reader endpoint)."""
        target = ctx.cluster(ctx.plan.target.identifier) or {}
        writer = str(target.get("Endpoint", ""))
        return writer, str(target.get("ReaderEndpoint") or writer)

    def _prepare(self, ctx: CutoverContext) -> DnsRecords:
        """The records to swap, as they are now (journaled before any change)."""
        opts, state = ctx.options, ctx.state
        assert opts.zone_id and opts.record_name
        writer = route53.record_for(
            ctx.aws, opts.zone_id, opts.record_name, state.source_endpoint, opts.set_identifier
        )
        reader = None
        if opts.reader_record_name:
            reader = route53.record_for(
                ctx.aws, opts.zone_id, opts.reader_record_name, state.source_reader_endpoint
            )
        return DnsRecords(writer, reader)

    def ready(self, ctx: CutoverContext) -> Guardrail:
        records = ctx.state.dns
        if records is None:
            records = self._prepare(ctx)
            ctx.save(replace(ctx.state, dns=records))
        writer, _ = self._endpoints(ctx)
        return guardrails.dns_record(records.writer, ctx.state.source_endpoint, writer)

    def question(self, ctx: CutoverContext) -> str:
        return f"point {ctx.options.record_name} at {ctx.plan.target.identifier}"

    def _wanted(self, ctx: CutoverContext) -> dict[str, str]:
        writer, reader = self._endpoints(ctx)
        return {"writer": writer, "reader": reader}

    def is_done(self, ctx: CutoverContext) -> bool:
        records = ctx.state.dns
        if records is None:
            return False
        wanted = self._wanted(ctx)
        return all(
            route53.same_host(route53.current_value(ctx.aws, rec), wanted[role])
            for role, rec in records.items()
        )

    def _wait_insync(self, ctx: CutoverContext, changes: list[str]) -> None:
        if changes:
            ctx.wait("Route 53 change INSYNC", lambda: route53.change_statuses(ctx.aws, changes))

    def apply(self, ctx: CutoverContext) -> str:
        """UPSERT each record to the target's endpoint; wait for INSYNC."""
        records = ctx.state.dns
        assert records is not None
        wanted = self._wanted(ctx)
        changes = [
            route53.upsert(ctx.aws, rec, wanted[role], comment=f"snapmigrate cutover {ctx.run_id}")
            for role, rec in records.items()
            if not route53.same_host(route53.current_value(ctx.aws, rec), wanted[role])
        ]
        self._wait_insync(ctx, changes)
        names = ", ".join(f"{rec.host} -> {wanted[role]}" for role, rec in records.items())
        return f"{names} (INSYNC)"

    def undo(self, ctx: CutoverContext) -> str | None:
        """Put every record back as it was before the cutover (value, TTL, weight)."""
        records = ctx.state.dns
        if records is None:
            return None
        changes = [
            route53.upsert(ctx.aws, rec, rec.value, comment=f"snapmigrate rollback {ctx.run_id}")
            for _, rec in records.items()
            if not route53.same_host(route53.current_value(ctx.aws, rec), rec.value)
        ]
        self._wait_insync(ctx, changes)
        names = ", ".join(f"{rec.host} -> {rec.value}" for _, rec in records.items())
        return f"{names} (restored)" if changes else f"{names} already, as before the cutover"

    def client_host(self, ctx: CutoverContext) -> str:
        return (ctx.options.record_name or "").rstrip(".")

    def prove_timeout(self, ctx: CutoverContext) -> float:
        """Caches may hold the old answer for one TTL: wait up to the TTL + 30 s."""
        records = ctx.state.dns
        base = ctx.options.prove_timeout_s
        return max(base, float(records.writer.ttl) + 30) if records is not None else base

    def ttl_record(self, aws: Aws, options: CutoverOptions, points_at: str | None) -> route53.Record:
        assert options.zone_id and options.record_name
        return route53.record_for(
            aws, options.zone_id, options.record_name, points_at, options.set_identifier
        )

    def journaled(self, state: CutoverState) -> Any:
        return state.dns

    def describe(self, swap: Mapping[str, Any]) -> str:
        writer = (swap.get(self.mode) or {}).get("writer")
        return f"{self.mode} ({writer['name'].rstrip('.')})" if writer else self.mode


class RenameSwap(Swap):
    """Rename the source away and the target onto its name.

    Which cluster is which is read from AWS, never assumed: the target carries
    this run's ``snapmigrate:run-id`` tag and the ``target`` role. ``undo``
    renames both back. (A rename modifies the source's identifier: the one
    change to the source, besides the freeze, that snapmigrate makes, and only
    here.) https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.Modifying.html
    """

    mode = "rename"
    permissions = ("rds:ModifyDBCluster", "rds:DescribeDBClusters")

    def check_plan(self, source_id: str, zone_id: str | None, record_name: str | None) -> None:
        _no_record_given(zone_id, record_name)
        renamed = old_name(source_id, "x" * RUN_ID_LENGTH)
        if len(renamed) > 63:
            raise BadInput(
                f"--cutover rename would rename the source to {source_id}-old-<run>, "
                f"{len(renamed)} characters: RDS allows 63; use --cutover dns"
            )

    def plan(
        self, source: SourceCluster, target: str, zone_id: str | None, record_name: str | None,
        zone: ZoneState | None,
    ) -> tuple[CutoverSpec, Level, str]:  # fmt: skip
        return CutoverSpec(mode=self.mode), "ok", (
            f"cutover by rename: {source.identifier} becomes {source.identifier}-old-<run>, "
            f"{target} takes the name {source.identifier} and its endpoint host names"
        )

    def resolve(
        self, given: CutoverOptions, before: CutoverOptions | None, planned: CutoverSpec
    ) -> CutoverOptions:
        if given.zone_id or given.record_name or given.reader_record_name or given.set_identifier:
            raise BadInput(
                "--dns-zone-id/--dns-name/--reader-dns-name/--set-identifier only apply with "
                "--mode dns"
            )
        return replace(given, mode=self.mode)

    def _names(self, ctx: CutoverContext) -> tuple[str, str, str]:
        """(source name, the source's name once renamed away, target name)."""
        source = ctx.plan.source.identifier
        return source, old_name(source, ctx.run_id), ctx.plan.target.identifier

    def ready(self, ctx: CutoverContext) -> Guardrail:
        source, old, target = self._names(ctx)
        at_old, at_source = ctx.cluster(old), ctx.cluster(source)
        collision = guardrails.rename_collision(
            source,
            old,
            ctx.run_id,
            old_exists=at_old is not None,
            old_is_target=ctx.is_target(at_old),
            source_is_foreign=at_source is not None and not ctx.is_target(at_source),
        )
        if collision:
            raise BadInput(collision)  # a collision is bad input (exit 2)
        return Guardrail("names", True, f"{source} -> {old} and {target} -> {source} are free to take")

    def question(self, ctx: CutoverContext) -> str:
        source, old, target = self._names(ctx)
        return f"rename {source} -> {old} and {target} -> {source}"

    def is_done(self, ctx: CutoverContext) -> bool:
        source, old, _ = self._names(ctx)
        return ctx.is_target(ctx.cluster(source)) and ctx.cluster(old) is not None

    def _rename(self, ctx: CutoverContext, old: str, new: str, *, ours: bool) -> None:
        rds.rename_cluster(ctx.aws, old, new)

        def renamed() -> dict[str, Status]:
            cluster = ctx.cluster(new)
            if cluster is None:
                return {new: Status("not there yet")}
            if ctx.is_target(cluster) != ours:
                return {new: Status("another cluster")}
            status = cluster.get("Status", "unknown")
            return {new: Status(status, done=status == "available")}

        ctx.wait(f"rename {old} -> {new}", renamed)

    def apply(self, ctx: CutoverContext) -> str:
        """Rename the source away, then the target onto its name (each waited for)."""
        source, old, target = self._names(ctx)
        at_source = ctx.cluster(source)
        if at_source is not None and not ctx.is_target(at_source):
            self._rename(ctx, source, old, ours=False)
        if not ctx.is_target(ctx.cluster(source)):
            self._rename(ctx, target, source, ours=True)
        return f"{source} -> {old}; {target} -> {source} (its endpoints now answer for {source})"

    def undo(self, ctx: CutoverContext) -> str:
        """Rename back: the target to its own name, then the source to its name."""
        source, old, target = self._names(ctx)
        done = []
        if ctx.is_target(ctx.cluster(source)):
            self._rename(ctx, source, target, ours=True)
            done.append(f"{source} -> {target}")
        if ctx.cluster(old) is not None and ctx.cluster(source) is None:
            self._rename(ctx, old, source, ours=False)
            done.append(f"{old} -> {source}")
        return "; ".join(done) + " (restored)" if done else "names already as before the cutover"

    def client_host(self, ctx: CutoverContext) -> str:
        """The source's original endpoint: it lands on the target with the name."""
        return ctx.state.source_endpoint or ""


def _no_record_given(zone_id: str | None, record_name: str | None) -> None:
    if zone_id or record_name:
        raise BadInput("--dns-zone-id/--dns-name only apply with --cutover dns")


#: Every cutover mode, by the name ``--mode`` / ``--cutover`` takes.
SWAPS: dict[str, Swap] = {s.mode: s for s in (DnsSwap(), RenameSwap())}
MODES: tuple[str, ...] = tuple(SWAPS)


def swap_for(mode: str) -> Swap:
    """The strategy of ``mode`` (bad input when there is none)."""
    try:
        return SWAPS[mode]
    except KeyError:
        raise BadInput(f"--mode must be {' or '.join(MODES)}") from None


def check_plan_options(
    mode: str, source_id: str, zone_id: str | None, record_name: str | None
) -> None:
    """Bad input (exit 2) in the plan's ``--cutover`` options, before any AWS call."""
    if mode == NO_CUTOVER:
        _no_record_given(zone_id, record_name)
        return
    if mode not in SWAPS:
        raise BadInput(f"--cutover must be {', '.join((NO_CUTOVER, *MODES[:-1]))} or {MODES[-1]}")
    SWAPS[mode].check_plan(source_id, zone_id, record_name)


def plan_cutover(
    mode: str, source: SourceCluster, target: str, zone_id: str | None, record_name: str | None,
    zone: ZoneState | None,
) -> tuple[CutoverSpec, Level, str]:  # fmt: skip
    """The plan's cutover and the preflight's finding about it."""
    if mode == NO_CUTOVER:
        return CutoverSpec(), "ok", (
            "no cutover planned: clients keep using the source until 'snapmigrate cutover'"
        )
    return SWAPS[mode].plan(source, target, zone_id, record_name, zone)


def planned_swap(spec: CutoverSpec) -> Swap | None:
    """The plan's swap strategy, None when the plan moves no clients."""
    return SWAPS.get(spec.mode)


def journaled(state: CutoverState) -> dict[str, Any]:
    """What each mode's swap journaled (the cutover report's ``swap``)."""
    return {mode: to_json(swap.journaled(state)) for mode, swap in SWAPS.items()}


def describe(mode: str | None, swap: Mapping[str, Any]) -> str:
    """The cutover's mode as reports name it (``-`` when none was chosen)."""
    strategy = SWAPS.get(mode or "")
    return strategy.describe(swap) if strategy else (mode or "-")

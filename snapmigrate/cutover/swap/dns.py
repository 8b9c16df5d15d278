"""Cut over by DNS: point the Route 53 CNAME clients use (and the reader record,
when given) at the target's endpoints, and wait until ``INSYNC``.
https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from snapmigrate.aws import Aws, route53
from snapmigrate.cutover import guardrails
from snapmigrate.cutover.context import CutoverContext
from snapmigrate.cutover.state import CutoverOptions, CutoverState, DnsRecords, Guardrail
from snapmigrate.cutover.swap.base import Swap
from snapmigrate.errors import BadInput
from snapmigrate.model import CutoverSpec, Level, Plan, SourceCluster

if TYPE_CHECKING:
    from snapmigrate.plan.discover import ZoneState


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
            return (
                spec,
                "block",
                f"Route 53 hosted zone {zone_id} does not exist: check --dns-zone-id",
            )
        if not zone.record_exists:
            return (
                spec,
                "block",
                (
                    f"record {record_name} (CNAME) does not exist in zone {zone.name}: clients "
                    "must "
                    "already use it, pointing at the source's endpoint; create it first or use "
                    "--cutover rename"
                ),
            )
        if (
            zone.record_value
            and source.endpoint
            and zone.record_value.rstrip(".") != source.endpoint
        ):
            return (
                spec,
                "warn",
                (
                    f"{record_name} points at {zone.record_value}, not at the source's endpoint "
                    f"{source.endpoint}"
                ),
            )
        private = " (private zone)" if zone.private else ""
        return (
            spec,
            "ok",
            (f"cutover by DNS: {record_name}{private} will point at the target's writer endpoint"),
        )

    def resolve(
        self, given: CutoverOptions, before: CutoverOptions | None, planned: CutoverSpec
    ) -> CutoverOptions:
        from_plan = planned if planned.mode == self.mode else CutoverSpec()
        zone = given.zone_id or (before.zone_id if before else None) or from_plan.zone_id
        name = (
            given.record_name or (before.record_name if before else None) or from_plan.record_name
        )
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
        if ctx.options.prove_timeout_s:
            return ctx.options.prove_timeout_s
        base = self.prove_window_s
        return max(base, float(records.writer.ttl) + 30) if records is not None else base

    def ttl_record(
        self, aws: Aws, options: CutoverOptions, points_at: str | None
    ) -> route53.Record:
        assert options.zone_id and options.record_name
        return route53.record_for(
            aws, options.zone_id, options.record_name, points_at, options.set_identifier
        )

    def journaled(self, state: CutoverState, plan: Plan, run_id: str) -> Any:
        """The records as they were before the swap (journaled before it changes them)."""
        return state.dns

    def describe(self, swap: Mapping[str, Any]) -> str:
        writer = (swap.get(self.mode) or {}).get("writer")
        return f"{self.mode} ({writer['name'].rstrip('.')})" if writer else self.mode

    def serving(self, plan: Plan, run_id: str, state: CutoverState) -> str:
        name = state.dns.writer.host if state.dns else "the record clients use"
        return f"{name} points at {plan.target.identifier}, which takes the clients' writes"

"""Cut over by DNS: point the Route 53 CNAME clients use (and the reader
record, when given) at the target's endpoints, and wait until INSYNC.

The record as it was is journaled before the change; ``undo`` puts it back
exactly (value, TTL, weight). Weighted and private zones work alike.
"""

from __future__ import annotations

from typing import Any

from snapmigrate import swap
from snapmigrate.steps.phase import CutoverContext
from snapmigrate.waiting import Status

NAME = "swap"
PERMISSIONS = (
    "route53:GetHostedZone",
    "route53:ListResourceRecordSets",
    "route53:ChangeResourceRecordSets",
    "route53:GetChange",
)
UNDO_PERMISSIONS = PERMISSIONS


def endpoints(ctx: CutoverContext) -> tuple[str, str | None, str | None]:
    """(target writer endpoint, target reader endpoint, source writer endpoint)."""
    target = ctx.cluster(ctx.plan.target.identifier) or {}
    return target.get("Endpoint", ""), target.get("ReaderEndpoint"), ctx.state.get("source_endpoint")


def prepare(ctx: CutoverContext) -> dict[str, Any]:
    """The records to swap, as they are now (journaled before any change)."""
    opts = ctx.options
    assert opts.zone_id and opts.record_name
    _, _, source = endpoints(ctx)
    writer = swap.record_for(ctx.clients, opts.zone_id, opts.record_name, source, opts.set_identifier)
    found: dict[str, Any] = {"writer": writer.to_dict()}
    if opts.reader_record_name:
        source_reader = ctx.state.get("source_reader_endpoint")
        reader = swap.record_for(ctx.clients, opts.zone_id, opts.reader_record_name, source_reader)
        found["reader"] = reader.to_dict()
    return found


def _records(ctx: CutoverContext) -> dict[str, swap.Record]:
    return {role: swap.Record.from_dict(data) for role, data in (ctx.state.get("dns") or {}).items()}


def _current(ctx: CutoverContext, record: swap.Record) -> str | None:
    for found in swap.find_records(ctx.clients, record.zone_id, record.name):
        if found.set_identifier == record.set_identifier:
            return found.value
    return None


def _wanted(ctx: CutoverContext) -> dict[str, str]:
    writer, reader, _ = endpoints(ctx)
    return {"writer": writer, "reader": reader or writer}


def is_done(ctx: CutoverContext) -> bool:
    records = _records(ctx)
    if not records:
        return False
    wanted = _wanted(ctx)
    return all(swap.same_host(_current(ctx, rec), wanted[role]) for role, rec in records.items())


def _wait_insync(ctx: CutoverContext, changes: list[str]) -> None:
    if not changes:
        return

    def poll() -> dict[str, Status]:
        seen = {c: swap.change_status(ctx.clients, c) for c in changes}
        return {c: Status(s, done=s == "INSYNC") for c, s in seen.items()}

    ctx.wait("Route 53 change INSYNC", poll)


def apply(ctx: CutoverContext) -> str:
    """UPSERT each record to the target's endpoint; wait for INSYNC."""
    wanted = _wanted(ctx)
    changes = []
    for role, rec in _records(ctx).items():
        if not swap.same_host(_current(ctx, rec), wanted[role]):
            changes.append(swap.upsert(ctx.clients, rec, wanted[role], comment=f"snapmigrate cutover {ctx.run_id}"))
    _wait_insync(ctx, changes)
    names = ", ".join(f"{rec.name.rstrip('.')} -> {wanted[role]}" for role, rec in _records(ctx).items())
    return f"{names} (INSYNC)"


def undo(ctx: CutoverContext) -> str:
    """Put every record back as it was before the cutover (value, TTL, weight)."""
    records = _records(ctx)
    if not records:
        return "no DNS record was changed"
    changes = []
    for rec in records.values():
        if not swap.same_host(_current(ctx, rec), rec.value):
            changes.append(swap.upsert(ctx.clients, rec, rec.value, comment=f"snapmigrate rollback {ctx.run_id}"))
    _wait_insync(ctx, changes)
    names = ", ".join(f"{rec.name.rstrip('.')} -> {rec.value}" for rec in records.values())
    return f"{names} (restored)" if changes else f"{names} already, as before the cutover"

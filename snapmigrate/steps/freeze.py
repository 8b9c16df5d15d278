"""The source's write freeze: every user database read-only for new sessions,
other sessions ended, no write transaction left.

Used two ways: as the cutover's ``freeze`` phase, and (``migrate
--freeze-before-snapshot``) by the snapshot step before it asks for the
snapshot, for a copy that misses no write. Either way the record of what was
there before is journaled *before* anything changes, so ``undo`` restores
exactly that, even after a crash.
"""

from __future__ import annotations

import logging
from typing import Any

from snapmigrate.db import freeze as db_freeze
from snapmigrate.steps.context import Freezer, StepContext
from snapmigrate.steps.phase import CutoverContext

log = logging.getLogger(__name__)

NAME = "freeze"
#: SQL only, as the master user: ALTER DATABASE, pg_terminate_backend.
PERMISSIONS: tuple[str, ...] = ()
UNDO_PERMISSIONS: tuple[str, ...] = ()


def record_of(ctx: CutoverContext) -> db_freeze.FreezeRecord | None:
    """The freeze this run made: the cutover's own, else the one made before the snapshot."""
    data = ctx.state.get("freeze") or before_snapshot(ctx.record)
    return db_freeze.FreezeRecord.from_dict(data) if data else None


def before_snapshot(record: Any) -> dict[str, Any] | None:
    """The freeze ``migrate --freeze-before-snapshot`` made, from the snapshot step's journal."""
    try:
        details = record.step("snapshot").details
    except KeyError:
        return None
    found = details.get("freeze")
    return dict(found) if found else None


def is_done(ctx: CutoverContext) -> bool:
    """Done when every database of the record is read-only for new sessions now."""
    record = record_of(ctx)
    if record is None:
        return False
    names = [d.name for d in record.databases]
    return set(db_freeze.read_only_databases(ctx.source, names, connect_map=ctx.connect_map)) == set(names)


def apply(ctx: CutoverContext) -> str:
    """Freeze (or re-assert the freeze made before the snapshot); journal first."""
    # A freeze made before the snapshot is adopted -- unless a rollback lifted it since.
    adopted = not ctx.state.get("freeze") and not ctx.state.get("history") and before_snapshot(ctx.record) is not None
    record = record_of(ctx)
    if record is None:
        record = db_freeze.prepare(ctx.source, connect_map=ctx.connect_map)
        ctx.update(freeze=record.to_dict())
    done = db_freeze.apply(ctx.source, record, connect_map=ctx.connect_map)
    first = ctx.state.get("frozen_at") or (record.frozen_at if adopted else done.frozen_at)
    ctx.update(freeze=done.to_dict(), frozen_at=first, freeze_adopted=adopted)
    names = ", ".join(d.name for d in done.databases)
    since = " (frozen since before the snapshot)" if adopted else ""
    return f"{len(done.databases)} database(s) read-only ({names}){since}; {done.terminated} session(s) ended; no write transaction open"


def undo(ctx: CutoverContext) -> str:
    """Put every database's setting back as it was. Idempotent."""
    record = record_of(ctx)
    if record is None:
        return "nothing was frozen"
    db_freeze.unfreeze(ctx.source, record, connect_map=ctx.connect_map)
    return f"{len(record.databases)} database(s) writable again"


class SourceFreezer(Freezer):
    """``migrate --freeze-before-snapshot``: freeze the source before the snapshot
    is requested and keep it frozen (the cutover adopts the freeze; ``rollback``
    or a failed cutover lifts it)."""

    def freeze(self, ctx: StepContext) -> None:
        from snapmigrate.connectmap import ConnectMap
        from snapmigrate.steps import dataplane

        source = dataplane.endpoint(ctx, ctx.plan.source.identifier, "source")
        connect_map = ConnectMap.load(ctx.settings.connect_map)
        earlier = ctx.previous("snapshot").get("freeze")
        record = db_freeze.FreezeRecord.from_dict(earlier) if earlier else db_freeze.prepare(source, connect_map=connect_map)
        ctx.note("snapshot", {}, {"freeze": record.to_dict()})
        done = db_freeze.apply(source, record, connect_map=connect_map)
        ctx.note("snapshot", {}, {"freeze": done.to_dict()})
        log.warning(
            "froze %s before the snapshot: it stays read-only until 'snapmigrate cutover %s' or 'snapmigrate rollback %s'",
            ctx.plan.source.identifier, ctx.run_id, ctx.run_id,
        )

    def thaw(self, ctx: StepContext) -> None:
        """The freeze outlives the snapshot on purpose: writes resume on the target."""

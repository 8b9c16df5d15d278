"""``migrate --freeze-before-snapshot``: the source read-only before the snapshot
is requested, for a copy that misses no write.

The freeze outlives the snapshot on purpose: the cutover adopts it (writes
resume on the target), ``rollback`` or a failed cutover lifts it. What was
there before is journaled (in the snapshot step's details) *before* anything
changes, so the freeze can be undone exactly, even after a crash.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from snapmigrate.db import freeze as db_freeze
from snapmigrate.migrate import dataplane
from snapmigrate.migrate.context import MigrateContext
from snapmigrate.migrate.snapshot import NAME as SNAPSHOT
from snapmigrate.migrate.snapshot import SnapshotDetails

log = logging.getLogger(__name__)


class SourceFreezer:
    """Freezes the source right before the snapshot request (a :class:`Freezer`)."""

    def freeze(self, ctx: MigrateContext) -> None:
        source = dataplane.endpoint(ctx, ctx.plan.source.identifier, "source")
        connect_map = dataplane.connect_map(ctx)
        details = ctx.details(SnapshotDetails)
        record = details.freeze or db_freeze.prepare(source, connect_map=connect_map)
        ctx.note(SNAPSHOT, {}, replace(details, freeze=record))
        done = db_freeze.apply(source, record, connect_map=connect_map)
        ctx.note(SNAPSHOT, {}, replace(details, freeze=done))
        log.warning(
            "froze %s before the snapshot: it stays read-only until 'snapmigrate cutover %s' "
            "or 'snapmigrate rollback %s'",
            ctx.plan.source.identifier,
            ctx.run_id,
            ctx.run_id,
        )

    def thaw(self, ctx: MigrateContext) -> None:
        """The freeze outlives the snapshot on purpose: writes resume on the target."""

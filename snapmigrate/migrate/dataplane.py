"""The database calls migration steps make: the SELECT 1 probe, the source's
write counters around the snapshot, and the verifier (:mod:`snapmigrate.db.verify`).

A step that could not reach a database says why -- never that it passed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from snapmigrate.connectmap import ConnectMap
from snapmigrate.db.connect import Endpoint, connect, from_cluster
from snapmigrate.db.stats import Baseline, WriteCounters
from snapmigrate.db.stats import write_counters as capture_counters
from snapmigrate.db.verify import VerifyOptions
from snapmigrate.db.verify import verify as compare
from snapmigrate.errors import SnapmigrateError
from snapmigrate.migrate.context import MigrateContext
from snapmigrate.records import Sparse
from snapmigrate.workflow.journal import now

log = logging.getLogger(__name__)

#: Reasons a connection will not heal by waiting.
FATAL_CONNECT_HINTS = (
    "password authentication failed",
    "no password supplied",
    "does not exist",
    "permission denied",
)


@dataclass(frozen=True)
class CounterCapture(Sparse):
    """The source's write counters at one moment -- or why they could not be read."""

    moment: str | None = None
    at: str | None = None
    captured: bool = False
    reason: str | None = None
    counters: WriteCounters | None = None


def connect_map(ctx: MigrateContext) -> ConnectMap:
    return ConnectMap.load(ctx.settings.connect_map)


def endpoint(ctx: MigrateContext, cluster_id: str, label: str) -> Endpoint:
    """The cluster's writer :class:`~snapmigrate.db.connect.Endpoint`."""
    return from_cluster(ctx.aws, cluster_id, label)


def select_one(ctx: MigrateContext, cluster_id: str) -> str | None:
    """None when the cluster's writer endpoint answers ``SELECT 1``, else why not."""
    try:
        target = endpoint(ctx, cluster_id, "target")
        with connect(target, "postgres", connect_map=connect_map(ctx), timeout=10) as conn:
            row = conn.execute("SELECT 1").fetchone()
    except SnapmigrateError as e:
        return str(e)
    return None if row == (1,) else f"SELECT 1 returned {row!r}"


def is_fatal(reason: str) -> bool:
    return any(hint in reason for hint in FATAL_CONNECT_HINTS)


def write_counters(ctx: MigrateContext, moment: str) -> CounterCapture:
    """The source's per-table write counters (for drift reports and the cutover's
    catch-up check), or why they could not be read."""
    if not ctx.settings.connect:
        return CounterCapture(moment, now(), reason="skipped: --no-connect")
    try:
        source = endpoint(ctx, ctx.plan.source.identifier, "source")
        counters = capture_counters(source, connect_map=connect_map(ctx))
    except SnapmigrateError as e:
        return CounterCapture(moment, now(), reason=f"source not reachable: {e}")
    return CounterCapture(moment, now(), captured=True, counters=counters)


def baseline(before: CounterCapture | None, after: CounterCapture | None) -> Baseline | None:
    """A drift :class:`~snapmigrate.db.stats.Baseline` from the captures, or None."""
    if after is None or after.counters is None or not after.captured:
        return None
    first = before.counters if before is not None and before.captured else None
    return Baseline(after=after.counters, before=first)


@dataclass(frozen=True)
class Verification:
    """What the verify step found: ran or not, equal or not, the verifier's report."""

    ran: bool
    equal: bool | None
    summary: str
    report: dict[str, Any] = field(default_factory=dict)


def verify(
    ctx: MigrateContext, source: str, target: str, mode: str, drift: Baseline | None
) -> Verification:
    """Compare the clusters; differences on tables the source wrote after the
    snapshot are drift (reported, not failing the run: the cutover's catch-up
    check decides what to do about them)."""
    if not ctx.settings.connect:
        return Verification(False, None, "skipped: --no-connect (nothing was compared)")
    options = VerifyOptions(mode=mode, baseline=drift, allow_drift=drift is not None)
    result = compare(
        endpoint(ctx, source, "source"),
        endpoint(ctx, target, "target"),
        options,
        connect_map=connect_map(ctx),
        progress=log.info,
        sleep=ctx.waiter.clock.sleep,
    )
    # equal, or different only where the source changed since the snapshot
    passed = result.exit_code == 0
    summary = "equal" if result.equal else "differences found"
    if passed and not result.equal:
        summary = (
            f"equal but for drift since the snapshot ({len(result.differing_tables)} table(s))"
        )
    return Verification(True, passed, summary, result.to_dict())

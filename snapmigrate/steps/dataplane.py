"""The database calls the steps make: the SELECT 1 probe, the source's write
counters around the snapshot, and the verifier (:mod:`snapmigrate.db.verify`).

A step that could not reach a database says why -- never that it passed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from snapmigrate.errors import SnapmigrateError
from snapmigrate.journal import now
from snapmigrate.steps.context import StepContext

log = logging.getLogger(__name__)

#: Reasons a connection will not heal by waiting.
FATAL_CONNECT_HINTS = ("password authentication failed", "no password supplied", "does not exist", "permission denied")


def _connect_map(ctx: StepContext) -> Any:
    from snapmigrate.connectmap import ConnectMap

    return ConnectMap.load(ctx.settings.connect_map)


def endpoint(ctx: StepContext, cluster_id: str, label: str) -> Any:
    """The cluster's writer :class:`~snapmigrate.db.connect.Endpoint`."""
    from snapmigrate.db.connect import from_cluster

    return from_cluster(ctx.clients, cluster_id, label)


def select_one(ctx: StepContext, cluster_id: str) -> str | None:
    """None when the cluster's writer endpoint answers ``SELECT 1``, else why not."""
    from snapmigrate.db.connect import connect

    try:
        endpoint_ = endpoint(ctx, cluster_id, "target")
        with connect(endpoint_, "postgres", connect_map=_connect_map(ctx), timeout=10) as conn:
            row = conn.execute("SELECT 1").fetchone()
    except SnapmigrateError as e:
        return str(e)
    return None if row == (1,) else f"SELECT 1 returned {row!r}"


def is_fatal(reason: str) -> bool:
    return any(hint in reason for hint in FATAL_CONNECT_HINTS)


def write_counters(ctx: StepContext, moment: str) -> dict[str, Any]:
    """The source's per-table write counters (for drift reports and the cutover's
    catch-up check), or why they could not be read."""
    from snapmigrate.db.stats import write_counters as capture

    base: dict[str, Any] = {"moment": moment, "at": now()}
    if not ctx.settings.connect:
        return {**base, "captured": False, "reason": "skipped: --no-connect"}
    try:
        source = endpoint(ctx, ctx.plan.source.identifier, "source")
        counters = capture(source, connect_map=_connect_map(ctx))
    except SnapmigrateError as e:
        return {**base, "captured": False, "reason": f"source not reachable: {e}"}
    return {**base, "captured": True, "counters": counters.to_dict()}


def baseline(counters: Mapping[str, Any]) -> Any:
    """A :class:`~snapmigrate.db.stats.Baseline` from the journaled captures, or None."""
    from snapmigrate.db.stats import Baseline, WriteCounters

    def load(capture: Mapping[str, Any] | None) -> WriteCounters | None:
        if not capture or not capture.get("captured"):
            return None
        return WriteCounters.from_dict(capture["counters"])

    after, before = load(counters.get("after")), load(counters.get("before"))
    if after is None:
        return None
    return Baseline(after=after, before=before)


@dataclass(frozen=True)
class Verification:
    """What the verify step found: ran or not, equal or not, the verifier's report."""

    ran: bool
    equal: bool | None
    summary: str
    report: Mapping[str, Any] = field(default_factory=dict)


def verify(ctx: StepContext, source: str, target: str, mode: str, counters: Mapping[str, Any]) -> Verification:
    """Compare the clusters; differences on tables the source wrote after the
    snapshot are drift (reported, not failing the run: the cutover's catch-up
    check decides what to do about them)."""
    from snapmigrate.db.verify import VerifyOptions
    from snapmigrate.db.verify import verify as compare

    if not ctx.settings.connect:
        return Verification(False, None, "skipped: --no-connect (nothing was compared)")
    drift_baseline = baseline(counters)
    options = VerifyOptions(mode=mode, baseline=drift_baseline, allow_drift=drift_baseline is not None)
    result = compare(
        endpoint(ctx, source, "source"),
        endpoint(ctx, target, "target"),
        options,
        connect_map=_connect_map(ctx),
        progress=log.info,
        sleep=ctx.waiter.clock.sleep,
    )
    passed = result.exit_code == 0  # equal, or different only where the source changed since the snapshot
    summary = "equal" if result.equal else "differences found"
    if passed and not result.equal:
        summary = f"equal but for drift since the snapshot ({len(result.differing_tables)} table(s))"
    return Verification(True, passed, summary, result.to_dict())

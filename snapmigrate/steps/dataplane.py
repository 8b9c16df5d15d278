"""The database calls the steps make: the SELECT 1 probe, the source's write
counters around the snapshot, and the verifier.

The verifier (``snapmigrate.verify``) is built in its own issue; it is used
when importable and offers the functions named below, and otherwise the
step says why it did not run -- never that it passed.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from snapmigrate.errors import SnapmigrateError
from snapmigrate.journal import now
from snapmigrate.steps.context import StepContext

log = logging.getLogger(__name__)

VERIFIER_MODULE = "snapmigrate.verify"
#: What the runner expects from the verifier module (the lead wires the final API):
#: ``write_counters(endpoint, *, connect_map) -> Mapping`` and
#: ``verify(source, target, *, mode, connect_map, counters) -> result`` whose
#: result has ``equal`` and ``to_dict()``; endpoints are ``snapmigrate.db.connect.Endpoint``;
#: ``counters`` is ``{"before": ..., "after": ...}`` as recorded around the snapshot request.
WRITE_COUNTERS = "write_counters"
VERIFY = "verify"

#: Reasons a connection will not heal by waiting.
FATAL_CONNECT_HINTS = ("password authentication failed", "no password supplied", "does not exist", "permission denied")


def _verifier(attr: str) -> tuple[Any, str | None]:
    """(the verifier's function ``attr``, None) or (None, why it is not there)."""
    if importlib.util.find_spec(VERIFIER_MODULE) is None:
        return None, "verifier not available"
    module = importlib.import_module(VERIFIER_MODULE)
    fn = getattr(module, attr, None)
    if fn is None:
        return None, f"verifier not available ({VERIFIER_MODULE}.{attr} missing)"
    return fn, None


def _connect_map(ctx: StepContext) -> Any:
    from snapmigrate.connectmap import ConnectMap

    return ConnectMap.load(ctx.settings.connect_map)


def endpoint(ctx: StepContext, cluster_id: str, label: str) -> Any:
    """The cluster's writer :class:`~snapmigrate.db.connect.Endpoint`.

    ``db.connect`` defaults AWS host names to ``sslmode=require``; an explicit
    ``PGSSLMODE`` (libpq's own variable) wins over that default, as it would in
    libpq -- e.g. ``disable`` for a local stand-in server without TLS.
    """
    from dataclasses import replace

    from snapmigrate.db.connect import from_cluster

    found = from_cluster(ctx.clients, cluster_id, label)
    sslmode = os.environ.get("PGSSLMODE")
    return replace(found, sslmode=sslmode) if sslmode and found.sslmode is None else found


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
    """The source's per-table write counters (for the verifier's drift report), or why not."""
    base: dict[str, Any] = {"moment": moment, "at": now()}
    if not ctx.settings.connect:
        return {**base, "captured": False, "reason": "skipped: --no-connect"}
    fn, missing = _verifier(WRITE_COUNTERS)
    if fn is None:
        return {**base, "captured": False, "reason": f"skipped: {missing}"}
    try:
        source = endpoint(ctx, ctx.plan.source.identifier, "source")
        counters = fn(source, connect_map=_connect_map(ctx))
    except SnapmigrateError as e:
        return {**base, "captured": False, "reason": f"source not reachable: {e}"}
    return {**base, "captured": True, "counters": counters}


@dataclass(frozen=True)
class Verification:
    """What the verify step found: ran or not, equal or not, the verifier's report."""

    ran: bool
    equal: bool | None
    summary: str
    report: Mapping[str, Any] = field(default_factory=dict)


def verify(ctx: StepContext, source: str, target: str, mode: str, counters: Mapping[str, Any]) -> Verification:
    """Run the verifier on source and target clusters, when there is one."""
    if not ctx.settings.connect:
        return Verification(False, None, "skipped: --no-connect (nothing was compared)")
    fn, missing = _verifier(VERIFY)
    if fn is None:
        return Verification(False, None, f"skipped: {missing}")
    result = fn(
        endpoint(ctx, source, "source"),
        endpoint(ctx, target, "target"),
        mode=mode,
        connect_map=_connect_map(ctx),
        counters=counters,
    )
    report = result.to_dict() if hasattr(result, "to_dict") else {}
    equal = bool(result.equal)
    return Verification(True, equal, "equal" if equal else "differences found", report)

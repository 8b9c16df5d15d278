"""What every part of the logical catch-up shares -- its steps, the cutover,
``status``, ``rollback`` and ``cleanup``: its names (each carries the run id),
where the source and the copy are now, how far the copy has come, and its end.

A forgotten replication slot keeps the source's WAL (and blocks its vacuum)
forever: every way out of a run -- a cutover, a rollback, a cleanup, the
threshold -- drops the run's subscriptions, slots and publications by name.
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraPostgreSQL.Replication.Logical.Configure.html
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from snapmigrate.aws import Aws
from snapmigrate.connectmap import ConnectMap
from snapmigrate.db import logical
from snapmigrate.db import subscription as subs
from snapmigrate.db.connect import Endpoint, from_cluster
from snapmigrate.migrate.locate import locate
from snapmigrate.model import Plan
from snapmigrate.records import Sparse
from snapmigrate.workflow.journal import RunRecord, StepDetails, now

#: The migration step whose details hold the catch-up's state.
STEP = "subscription"
GIB = 1024**3


@dataclass(frozen=True)
class Measure(Sparse):
    """How the catch-up stands (``status`` JSON ``catch_up``): ``pending`` (no
    subscription yet), ``streaming``, ``disconnected`` (a slot without its
    subscriber), ``missing`` (a slot is gone), ``ended``, ``aborted``, ``unknown``."""

    always = frozenset({"state", "lag_bytes", "lag_s", "retained_wal_bytes"})

    state: str
    lag_bytes: int | None = None
    lag_s: float | None = None
    retained_wal_bytes: int | None = None
    measured_at: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class CatchUpDetails(StepDetails):
    """The catch-up as the journal keeps it (the subscription step's details)."""

    step = STEP

    start_lsn: str | None = None
    publication: str | None = None
    slots: Mapping[str, str] | None = None  # database -> slot (and subscription) name
    caught_up_at: str | None = None
    ended: str | None = None  # why it ended
    ended_at: str | None = None
    aborted: bool | None = None
    last: Measure | None = None


def slots_of(run_id: str, databases: Sequence[str]) -> dict[str, str]:
    """Database -> the run's slot there (its subscription on the copy has the same name)."""
    return logical.names(run_id, databases)


def measure(
    source: Endpoint, slots: Mapping[str, str], *, connect_map: ConnectMap | None = None
) -> Measure:
    """The subscriber's progress as the source's slots show it (lag and retained
    WAL: the worst slot; the slots share the WAL they hold)."""
    states = logical.slot_states(source, list(slots.values()), connect_map=connect_map)
    at = now()
    if len(states) < len(slots):
        gone = sorted(set(slots.values()) - {s.slot for s in states})
        return Measure("missing", measured_at=at, reason=f"slot(s) gone: {', '.join(gone)}")
    lag = max((s.lag_bytes or 0 for s in states), default=0)
    retained = max((s.retained_bytes or 0 for s in states), default=0)
    seconds = max((s.lag_s or 0.0 for s in states), default=0.0) if lag else 0.0
    idle = [s.slot for s in states if not s.active]
    state = "disconnected" if idle else "streaming"
    reason = f"no subscriber on {', '.join(idle)}" if idle else None
    return Measure(state, lag, round(seconds, 3), retained, at, reason)


def over_limit(found: Measure, limit: int) -> str | None:
    """Why the catch-up must end rather than hold more of the source's WAL, or None."""
    if limit and found.retained_wal_bytes is not None and found.retained_wal_bytes > limit:
        return (
            f"its slots hold {found.retained_wal_bytes / GIB:.2f} GiB of the source's WAL, over "
            f"the limit of {limit / GIB:g} GiB (--max-retained-wal-gb)"
        )
    return None


def end(
    source: Endpoint | None,
    target: Endpoint | None,
    run_id: str,
    databases: Sequence[str],
    *,
    connect_map: ConnectMap | None = None,
) -> list[str]:
    """Drop the run's subscriptions (on the copy), slots and publications (on the
    source); idempotent. What was dropped, one line each."""
    slots = slots_of(run_id, databases)
    publication = logical.publication_name(run_id)
    done: list[str] = []
    if target is not None:
        for db, name in slots.items():
            if subs.drop(target, db, name, connect_map=connect_map):
                done.append(f"subscription {name} on the copy")
    if source is not None:
        for slot in logical.drop_slots(source, list(slots.values()), connect_map=connect_map):
            done.append(f"slot {slot} on the source")
        for db in databases:
            if logical.drop_publication(source, db, publication, connect_map=connect_map):
                done.append(f"publication {publication} in {db}")
    return done


def endpoints_now(aws: Aws, plan: Plan, run_id: str) -> tuple[Endpoint | None, Endpoint | None]:
    """The source's and the copy's endpoints where they are now (None: gone)."""
    source_id, target_id = locate(aws, plan, run_id)
    source = from_cluster(aws, source_id, "source") if source_id else None
    target = from_cluster(aws, target_id, "target") if target_id else None
    return source, target


def end_run(
    aws: Aws,
    record: RunRecord,
    plan: Plan,
    why: str,
    *,
    aborted: bool = False,
    connect_map: ConnectMap | None = None,
) -> tuple[RunRecord, list[str]]:
    """End run ``record``'s catch-up wherever its clusters are now; the record
    saying so (to be saved), and what was dropped."""
    spec = plan.target.catch_up
    if not spec.logical:
        return record, []
    source, target = endpoints_now(aws, plan, record.run_id)
    done = end(source, target, record.run_id, spec.databases, connect_map=connect_map)
    return ended(record, why, aborted=aborted), done


def ended(record: RunRecord, why: str, *, aborted: bool = False) -> RunRecord:
    """``record`` with the catch-up marked ended (the first reason stays)."""
    details = CatchUpDetails.of(record)
    if details.ended:
        return record
    return _with(record, replace(details, ended=why, ended_at=now(), aborted=aborted or None))


def with_measure(record: RunRecord, found: Measure) -> RunRecord:
    """``record`` with ``found`` as the catch-up's last measure."""
    return _with(record, replace(CatchUpDetails.of(record), last=found))


def _with(record: RunRecord, details: CatchUpDetails) -> RunRecord:
    try:
        step = record.step(STEP)
    except KeyError:
        return record
    return record.with_step(replace(step, details=details.to_dict()))


def status_of(record: RunRecord) -> Measure | None:
    """What the journal last knew of the run's catch-up (None: the run has none)."""
    try:
        step = record.step(STEP)
    except KeyError:
        return None
    details = CatchUpDetails.from_dict(step.details)
    if details.ended:
        state = "aborted" if details.aborted else "ended"
        return Measure(state, measured_at=details.ended_at, reason=details.ended)
    if record.state == "cleaned":
        return Measure("ended", reason="cleaned up")
    if details.last is not None:
        return details.last
    return Measure("pending", reason=f"the {STEP} step has not run yet")

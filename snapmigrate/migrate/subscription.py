"""``--catch-up logical``, after the restore: the copy subscribes to the source
from the LSN it was taken at, and catches up -- in AWS's documented order
(https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraPostgreSQL.MajorVersionUpgrade.html):
``aurora_volume_logical_start_lsn()`` on the copy, its copies of the source's
slots (and publications) dropped, per database a disabled subscription that
reuses the source's slot and copies no data, its origin advanced to that LSN,
enabled. The step is done once the copy has applied everything the source
had written when it was enabled; from then on it stays in step until the
cutover. The undo ends it: subscriptions, slots, publications dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from snapmigrate.db import logical
from snapmigrate.db import subscription as subs
from snapmigrate.errors import OperationFailed, SnapmigrateError
from snapmigrate.migrate import dataplane
from snapmigrate.migrate.catchup import (
    STEP,
    CatchUpDetails,
    end,
    endpoints_now,
    measure,
    over_limit,
    slots_of,
)
from snapmigrate.migrate.context import Basis, MigrateContext
from snapmigrate.progress import Status
from snapmigrate.records import Record
from snapmigrate.workflow.journal import now
from snapmigrate.workflow.step import Outcome, Step

NAME = STEP
#: How long a slot may wait for its subscriber before the step says it will not come
#: (PostgreSQL restarts a failed apply worker every 5 s, wal_retrieve_retry_interval).
SUBSCRIBER_GRACE_S = 60.0


@dataclass(frozen=True)
class SubscriptionInputs(Record):
    source_cluster: str
    target_cluster: str
    databases: tuple[str, ...]
    max_retained_wal_bytes: int = 0


class SubscriptionStep(Step[Basis, MigrateContext, SubscriptionInputs]):
    """The copy subscribed to the source from its start LSN, caught up."""

    name = NAME
    inputs = SubscriptionInputs
    permissions = ("rds:DescribeDBClusters", "secretsmanager:GetSecretValue")
    undo_permissions = ("rds:DescribeDBClusters", "secretsmanager:GetSecretValue")

    def plan(self, basis: Basis) -> SubscriptionInputs | None:
        spec = basis.spec.catch_up
        if not spec.logical:
            return None
        return SubscriptionInputs(
            basis.source.identifier,
            basis.spec.identifier,
            spec.databases,
            spec.max_retained_wal_bytes,
        )

    def describe(self, inputs: SubscriptionInputs) -> str:
        return (
            f"on {inputs.target_cluster}: read aurora_volume_logical_start_lsn(), drop its copy "
            f"of the source's slots, subscribe each of {len(inputs.databases)} database(s) to "
            f"{inputs.source_cluster} from that LSN (copy_data = false), wait until caught up"
        )

    def is_done(self, ctx: MigrateContext, inputs: SubscriptionInputs) -> bool:
        """Done when it ended (the cutover or the threshold decided), or when every
        subscription is enabled on the copy and the journal saw it catch up."""
        details = ctx.details(CatchUpDetails)
        if details.ended:
            return True
        if details.caught_up_at is None:
            return False
        target = dataplane.endpoint(ctx, inputs.target_cluster, "target")
        cmap = dataplane.connect_map(ctx)
        for db, name in slots_of(ctx.run_id, inputs.databases).items():
            sub = subs.find(target, db, name, connect_map=cmap)
            if sub is None or not sub.enabled:
                return False
        return True

    def apply(self, ctx: MigrateContext, inputs: SubscriptionInputs) -> Outcome:
        details = ctx.details(CatchUpDetails)
        if details.ended:
            raise OperationFailed(f"the catch-up ended ({details.ended}): migrate again")
        source = dataplane.endpoint(ctx, inputs.source_cluster, "source")
        target = dataplane.endpoint(ctx, inputs.target_cluster, "target")
        cmap = dataplane.connect_map(ctx)
        slots = slots_of(ctx.run_id, inputs.databases)
        publication = logical.publication_name(ctx.run_id)
        lsn = details.start_lsn
        if lsn is None:
            lsn = subs.start_lsn(target, inputs.databases[0], connect_map=cmap)
            details = replace(details, start_lsn=lsn, publication=publication, slots=slots)
            ctx.note(NAME, {"start_lsn": lsn}, details)
        password = subs.password_of(source, connect_map=cmap)
        for db, slot in slots.items():
            subs.drop_copied(target, db, slot, publication, connect_map=cmap)
            sub = subs.find(target, db, slot, connect_map=cmap)
            if sub is None:
                sub = subs.create(
                    target,
                    db,
                    slot,
                    conninfo=subs.publisher_conninfo(source, password, db, cmap),
                    publication=publication,
                    slot=slot,
                    password=password,
                    connect_map=cmap,
                )
            if not sub.enabled:
                subs.advance_and_enable(target, db, sub, lsn, connect_map=cmap)
        goal = logical.current_lsn(source, connect_map=cmap)
        clock = ctx.waiter.clock
        idle_since: dict[str, float] = {}

        def caught_up() -> dict[str, Status]:
            found = measure(source, slots, connect_map=cmap)
            why = over_limit(found, inputs.max_retained_wal_bytes)
            if why is not None:
                _abort(ctx, inputs, why)
            states = logical.slot_states(source, list(slots.values()), connect_map=cmap)
            out = {s: Status("gone", failed="the slot was dropped") for s in slots.values()}
            for s in states:
                done = s.confirmed_lsn is not None and logical.lsn_value(
                    s.confirmed_lsn
                ) >= logical.lsn_value(goal)
                since = idle_since.setdefault(s.slot, clock.monotonic()) if not s.active else None
                if s.active:
                    idle_since.pop(s.slot, None)
                stuck = since is not None and clock.monotonic() - since > SUBSCRIBER_GRACE_S
                out[s.slot] = Status(
                    f"{s.lag_bytes or 0:,} bytes behind" + ("" if s.active else ", no subscriber"),
                    done=done,
                    failed=(
                        f"no subscriber for {SUBSCRIBER_GRACE_S:.0f} s: the copy's apply worker "
                        "keeps failing (its server log says why: a duplicate key, a missing "
                        "table, a refused login)"
                    )
                    if stuck and not done
                    else None,
                )
            return out

        what = f"{inputs.target_cluster} to catch up to {goal}"
        waited = ctx.wait(NAME, what, caught_up, labels=tuple(slots.values()))
        last = measure(source, slots, connect_map=cmap)
        details = replace(details, caught_up_at=now(), last=last)
        summary = (
            f"{inputs.target_cluster} subscribed from {lsn} and caught up to {goal}; "
            f"it applies {inputs.source_cluster}'s changes until the cutover"
        )
        return Outcome(summary, resources={"start_lsn": lsn}, details=details, waits=(waited,))

    def undo(self, ctx: MigrateContext, inputs: SubscriptionInputs) -> str:
        """End the catch-up: the copy's subscriptions, the source's slots and publications."""
        source, target = endpoints_now(ctx.aws, ctx.plan, ctx.run_id)
        cmap = dataplane.connect_map(ctx)
        done = end(source, target, ctx.run_id, inputs.databases, connect_map=cmap)
        return "; ".join(done) or "no subscription, slot or publication of this run left"


def _abort(ctx: MigrateContext, inputs: SubscriptionInputs, why: str) -> None:
    """Too much of the source's WAL held: end the catch-up rather than fill its storage."""
    source, target = endpoints_now(ctx.aws, ctx.plan, ctx.run_id)
    try:
        end(source, target, ctx.run_id, inputs.databases, connect_map=dataplane.connect_map(ctx))
    except SnapmigrateError as e:
        why = f"{why}; ending it failed too ({e}): run 'snapmigrate cleanup {ctx.run_id}'"
    details = ctx.details(CatchUpDetails)
    ctx.note(NAME, {}, replace(details, ended=f"aborted: {why}", ended_at=now(), aborted=True))
    raise OperationFailed(f"the catch-up was aborted: {why}")

"""``--catch-up logical``, before the snapshot: in each database of the source a
publication of its tables and a logical replication slot, so that every change
after the snapshot's LSN stays available to the copy (AWS's documented order:
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraPostgreSQL.MajorVersionUpgrade.html).

With ``--replica-identity-full`` the planned tables get ``REPLICA IDENTITY
FULL`` first; what each had before is journaled before it changes, and the
undo puts it back. The undo drops the slots and publications (by name: they
carry the run id).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from snapmigrate.db import logical
from snapmigrate.db.connect import Endpoint
from snapmigrate.errors import OperationFailed
from snapmigrate.migrate import dataplane
from snapmigrate.migrate.catchup import end, endpoints_now, slots_of
from snapmigrate.migrate.context import Basis, MigrateContext
from snapmigrate.model import QualifiedTable
from snapmigrate.records import Record
from snapmigrate.workflow.journal import StepDetails
from snapmigrate.workflow.step import Outcome, Step

log = logging.getLogger(__name__)

NAME = "publication"


@dataclass(frozen=True)
class PublicationInputs(Record):
    source_cluster: str
    databases: tuple[str, ...]
    replica_identity_full: tuple[QualifiedTable, ...] = ()


@dataclass(frozen=True)
class IdentityChange(Record):
    """A table whose replica identity this run set to FULL, and what it was."""

    table: QualifiedTable
    previous: str


@dataclass(frozen=True)
class PublicationDetails(StepDetails):
    step = NAME

    publication: str | None = None
    slots: Mapping[str, str] = field(default_factory=dict)
    identities: tuple[IdentityChange, ...] = ()
    tables: int | None = None


class PublicationStep(Step[Basis, MigrateContext, PublicationInputs]):
    """A publication and a logical replication slot in each database of the
    source, before the snapshot. SQL as the master user: no IAM action beyond
    finding the source."""

    name = NAME
    inputs = PublicationInputs
    permissions = ("rds:DescribeDBClusters", "secretsmanager:GetSecretValue")
    undo_permissions = ("rds:DescribeDBClusters", "secretsmanager:GetSecretValue")

    def plan(self, basis: Basis) -> PublicationInputs | None:
        spec = basis.spec.catch_up
        if not spec.logical:
            return None
        return PublicationInputs(
            basis.source.identifier, spec.databases, spec.replica_identity_full
        )

    def describe(self, inputs: PublicationInputs) -> str:
        full = (
            f"REPLICA IDENTITY FULL on {len(inputs.replica_identity_full)} table(s), then "
            if inputs.replica_identity_full
            else ""
        )
        return (
            f"{full}a publication of its tables and a logical replication slot in each of "
            f"{len(inputs.databases)} database(s) of {inputs.source_cluster} "
            "(named snapmigrate_<run id>), before the snapshot"
        )

    def is_done(self, ctx: MigrateContext, inputs: PublicationInputs) -> bool:
        """Done when every database has the run's publication and slot (read on the source)."""
        source = dataplane.endpoint(ctx, inputs.source_cluster, "source")
        cmap = dataplane.connect_map(ctx)
        slots = slots_of(ctx.run_id, inputs.databases)
        states = logical.slot_states(source, list(slots.values()), connect_map=cmap)
        if {s.slot for s in states} != set(slots.values()):
            return False
        name = logical.publication_name(ctx.run_id)
        return all(logical.has_publication(source, db, name, connect_map=cmap) for db in slots)

    def apply(self, ctx: MigrateContext, inputs: PublicationInputs) -> Outcome:
        source = dataplane.endpoint(ctx, inputs.source_cluster, "source")
        cmap = dataplane.connect_map(ctx)
        name = logical.publication_name(ctx.run_id)
        slots = slots_of(ctx.run_id, inputs.databases)
        details = ctx.details(PublicationDetails)
        details = PublicationDetails(name, slots, details.identities, details.tables)
        ctx.note(NAME, {"publication": name}, details)
        tables = 0
        for db, slot in slots.items():
            details, count = _publish(ctx, source, db, inputs, details)
            tables += count
            logical.create_slot(source, db, slot, connect_map=cmap)
        details = PublicationDetails(name, slots, details.identities, tables)
        summary = (
            f"publication {name} of {tables} table(s) and slot(s) "
            f"{', '.join(slots.values())} on {inputs.source_cluster}"
        )
        return Outcome(summary, resources={"publication": name}, details=details)

    def undo(self, ctx: MigrateContext, inputs: PublicationInputs) -> str:
        """Drop the slots and publications; put each replica identity back."""
        cmap = dataplane.connect_map(ctx)
        source, _target = endpoints_now(ctx.aws, ctx.plan, ctx.run_id)
        if source is None:
            return f"the source {inputs.source_cluster} is gone: nothing of the run is left on it"
        done = end(source, None, ctx.run_id, inputs.databases, connect_map=cmap)
        changes = ctx.details(PublicationDetails).identities
        for db in inputs.databases:
            mine = [c for c in changes if c.table.database == db]
            for previous in sorted({c.previous for c in mine}):
                tables = [c.table for c in mine if c.previous == previous]
                logical.set_replica_identity(source, db, tables, previous, connect_map=cmap)
        if changes:
            done.append(f"replica identity of {len(changes)} table(s) put back")
        return "; ".join(done) or "no slot or publication of this run on the source"


def _publish(
    ctx: MigrateContext,
    source: Endpoint,
    db: str,
    inputs: PublicationInputs,
    details: PublicationDetails,
) -> tuple[PublicationDetails, int]:
    """REPLICA IDENTITY FULL where planned (journaled first), then the publication."""
    cmap = dataplane.connect_map(ctx)
    now, identities = logical.publishable(source, db, connect_map=cmap)
    planned = {t for t in inputs.replica_identity_full if t.database == db}
    unplanned = [t for t in now.no_identity if t not in planned]
    if unplanned:
        raise OperationFailed(
            f"table(s) {', '.join(str(t) for t in unplanned)} have no primary key or replica "
            "identity now (not when planned): published, their UPDATEs and DELETEs would fail "
            "on the source. Nothing was published in this database: plan again"
        )
    known = {c.table for c in details.identities}
    todo = sorted(
        (t for t in planned if identities.get(t) not in (None, "full")),
        key=str,
    )
    fresh = tuple(IdentityChange(t, identities[t]) for t in todo if t not in known)
    if fresh:
        details = PublicationDetails(
            details.publication, details.slots, (*details.identities, *fresh), details.tables
        )
        ctx.note(NAME, {}, details)  # what was there, before it changes
    if todo:
        logical.set_replica_identity(source, db, todo, "full", connect_map=cmap)
        log.info("replica identity FULL on %d table(s) of %s", len(todo), db)
    name = logical.publication_name(ctx.run_id)
    logical.create_publication(source, db, name, now.tables, connect_map=cmap)
    return details, len(now.tables)

"""The preflight of ``--catch-up logical``: can the source publish, can every
table be replicated, what does logical replication not carry -- each a finding
with a stable ``catch-up-*`` code (docs/preflight.md). Pure: facts in, findings
and the :class:`~snapmigrate.model.CatchUpSpec` out.
"""

from __future__ import annotations

from collections.abc import Sequence

from snapmigrate.db.logical import DatabaseFacts, SourceFacts
from snapmigrate.model import CatchUpSpec, QualifiedTable, SourcePreparation
from snapmigrate.plan import facts
from snapmigrate.plan.publisher import PARAMETER, PublisherFacts
from snapmigrate.plan.rules import Findings, Inputs

V1_LIMITS = "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless.html"
CONFIGURE = (
    "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/"
    "AuroraPostgreSQL.Replication.Logical.Configure.html"
)
START_LSN = (
    "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/"
    "aurora_volume_logical_start_lsn.html"
)
#: The first minor of each major with aurora_volume_logical_start_lsn() (16 on: all).
START_LSN_SINCE = {10: 20, 11: 15, 12: 10, 13: 6, 14: 3, 15: 2}
#: A subscriber's default max_logical_replication_workers: one apply worker a database.
APPLY_WORKERS = 4
GIB = 1024**3
SHOWN = 8


def has_start_lsn(version: str) -> bool:
    """Whether Aurora PostgreSQL ``version`` has aurora_volume_logical_start_lsn()."""
    parsed = facts.parse_version(version)
    since = START_LSN_SINCE.get(parsed[0])
    if since is None:
        return parsed[0] > max(START_LSN_SINCE)
    return len(parsed) > 1 and parsed[1] >= since


def listed(tables: Sequence[QualifiedTable]) -> str:
    names = ", ".join(str(t) for t in tables[:SHOWN])
    return names + (f" and {len(tables) - SHOWN} more" if len(tables) > SHOWN else "")


def check_catch_up(
    inp: Inputs, restore_version: str, major_upgrade: bool, f: Findings
) -> CatchUpSpec:
    """The catch-up the plan asks for, and its findings (blocks where it cannot run)."""
    opts, src = inp.options, inp.source
    limit = int(opts.max_retained_wal_gb * GIB)
    spec = CatchUpSpec(mode="logical", max_retained_wal_bytes=limit)
    if src.kind == "serverless-v1":
        f.add(
            "block",
            "catch-up-source-mode",
            'Aurora Serverless v1 has no logical replication ("The logical replication feature '
            f"... isn't supported\", {V1_LIMITS}): convert the source to provisioned first "
            "(ModifyDBCluster --engine-mode provisioned), or migrate with "
            "--freeze-before-snapshot (the source read-only from the snapshot to the cutover)",
        )
        return spec
    f.add("ok", "catch-up-source-mode", f"a {src.kind} source can publish (logical replication)")
    _check_version(restore_version, major_upgrade, f)
    publisher = inp.publisher or PublisherFacts()
    prepare = _check_wal_level(inp, publisher, f)
    server = publisher.server
    if server is None:
        why = publisher.unreachable or "not read"
        f.add(
            "block",
            "catch-up-connect",
            f"the catch-up's preflight reads the source's databases, and could not: {why}. "
            "Give a route (--connect-map, a tunnel) and the master login (pgpass, Secrets Manager)",
        )
        return CatchUpSpec("logical", (), (), limit, prepare)
    full = _check_identity(inp, server.databases, f)
    _check_privileges(server, f)
    _check_capacity(server, f)
    _check_not_carried(server.databases, f)
    gib = opts.max_retained_wal_gb
    f.add(
        "ok",
        "catch-up-retained-wal",
        f"the catch-up is ended (its slots dropped) if its slots hold more than {gib:g} GiB of "
        "the source's WAL (--max-retained-wal-gb): watch lag and retained WAL with "
        "'snapmigrate status RUN_ID'",
    )
    _check_login(inp, f)
    databases = tuple(d.name for d in server.databases)
    return CatchUpSpec("logical", databases, full, limit, prepare)


def _check_version(restore_version: str, major_upgrade: bool, f: Findings) -> None:
    if major_upgrade:
        f.add(
            "block",
            "catch-up-version",
            "a major upgrade cannot be combined with --catch-up logical here: the copy's start "
            "LSN is read before its upgrade, with an instance; migrate at the source's major "
            "(drop --engine-version) and upgrade later",
        )
    elif not has_start_lsn(restore_version):
        f.add(
            "block",
            "catch-up-version",
            f"aurora-postgresql {restore_version} has no aurora_volume_logical_start_lsn() "
            f"(11.15+, 12.10+, 13.6+, 14.3+, 15.2+, 16 and later: {START_LSN}): upgrade the "
            "source's minor version first",
        )
    else:
        f.add(
            "ok",
            "catch-up-version",
            f"the copy ({restore_version}) tells its start LSN (aurora_volume_logical_start_lsn())",
        )


def _check_wal_level(
    inp: Inputs, publisher: PublisherFacts, f: Findings
) -> SourcePreparation | None:
    """``wal_level = logical`` now (however it was set), or what --prepare-source does."""
    server = publisher.server
    group = publisher.group or "its default group"
    if server is not None and server.wal_level == "logical":
        f.add(
            "ok",
            "catch-up-wal-level",
            f"the source publishes: wal_level = logical ({PARAMETER} = "
            f"{publisher.group_value or '?'} in {group})",
        )
        return None
    on_in_group = publisher.group_value == "1" and not publisher.default_group
    family = (
        inp.source.parameter_group_family
        or facts.facts_from_table(
            inp.source.engine, inp.source.engine_version
        ).parameter_group_family
    )
    if not inp.options.prepare_source:
        state = (
            f"{group} has {PARAMETER} = 1 but the writer {publisher.writer} has not rebooted "
            "since (pending-reboot): reboot it"
            if on_in_group
            else f"set {PARAMETER} = 1 in a custom cluster parameter group and reboot the writer"
        )
        f.add(
            "block",
            "catch-up-wal-level",
            f"the source does not publish (wal_level is not logical): {state} ({CONFIGURE}), "
            "or pass --prepare-source to let snapmigrate do it (a short outage)",
        )
        return None
    if publisher.writer is None:
        f.add("block", "catch-up-wal-level", "the source has no writer instance to reboot")
        return None
    prepare = SourcePreparation(
        family=family,
        writer=publisher.writer,
        new_group=not on_in_group,
        copy_from=None if publisher.default_group or on_in_group else publisher.group,
    )
    change = (
        f"reboot its writer {publisher.writer}"
        if on_in_group
        else f"create a cluster parameter group ({family}, a copy of "
        f"{prepare.copy_from or 'the family defaults'} with {PARAMETER} = 1), attach it to "
        f"{inp.source.identifier} in place of {group}, reboot its writer {publisher.writer}"
    )
    f.add(
        "warn",
        "catch-up-wal-level",
        f"--prepare-source: {change} -- A SHORT OUTAGE of the source: its connections drop "
        "while the writer restarts (typically under a minute). cleanup leaves the group in "
        "place (taking it away needs another reboot)",
    )
    return prepare


def _check_identity(
    inp: Inputs, databases: Sequence[DatabaseFacts], f: Findings
) -> tuple[QualifiedTable, ...]:
    """Every published table can have its UPDATEs and DELETEs replicated."""
    missing = tuple(t for d in databases for t in d.no_identity)
    theirs = sum(len(d.full_identity) for d in databases)
    count = sum(len(d.tables) for d in databases)
    already = f" ({theirs} with REPLICA IDENTITY FULL already)" if theirs else ""
    if not missing:
        f.add(
            "ok",
            "catch-up-replica-identity",
            f"all {count} table(s) have a primary key or a replica identity{already}",
        )
        return ()
    if not inp.options.replica_identity_full:
        f.add(
            "block",
            "catch-up-replica-identity",
            f"{len(missing)} table(s) have neither a primary key nor a replica identity: "
            f"{listed(missing)}. Published, their UPDATEs and DELETEs would fail on the source. "
            "Add primary keys, or pass --replica-identity-full",
        )
        return ()
    f.add(
        "warn",
        "catch-up-replica-identity",
        f"--replica-identity-full sets REPLICA IDENTITY FULL on {len(missing)} table(s): "
        f"{listed(missing)}. Their UPDATEs and DELETEs then log the whole old row (more WAL "
        "on the source), and the copy finds each such row by scanning its table (slow for a "
        "big table changed often); a brief lock on each; cleanup sets them back",
    )
    return missing


def _check_privileges(server: SourceFacts, f: Findings) -> None:
    admin = server.superuser or server.rds_superuser
    replication = admin or server.replication or server.rds_replication
    foreign = tuple(t for d in server.databases for t in d.not_owned)
    if not admin or not replication:
        f.add(
            "block",
            "catch-up-privileges",
            f"{server.user} needs rds_superuser (publication, subscription) and rds_replication "
            "(replication slots): use the master user",
        )
    elif foreign:
        f.add(
            "block",
            "catch-up-privileges",
            f"{server.user} is not a member of the roles owning {len(foreign)} table(s) or "
            f"sequence(s): {listed(foreign)}. A publication lists only its creator's tables: "
            f"GRANT each owner to {server.user}",
        )
    else:
        role = "superuser" if server.superuser else "rds_superuser"
        f.add(
            "ok",
            "catch-up-privileges",
            f"{server.user} ({role}) can create the publication, slots and subscription",
        )


def _check_capacity(server: SourceFacts, f: Findings) -> None:
    needed = len(server.databases)
    free = server.max_replication_slots - server.slots_used
    if free < needed or server.max_wal_senders < needed:
        f.add(
            "block",
            "catch-up-slots",
            f"{needed} database(s) need {needed} replication slot(s) and WAL sender(s): "
            f"{free} slot(s) free of max_replication_slots {server.max_replication_slots}, "
            f"max_wal_senders {server.max_wal_senders}: raise them in the cluster parameter group",
        )
    else:
        f.add(
            "ok",
            "catch-up-slots",
            f"one publication, slot and subscription per database ({needed}): {free} slot(s) free",
        )
    if needed > APPLY_WORKERS:
        f.add(
            "warn",
            "catch-up-workers",
            f"{needed} subscriptions need {needed} apply workers; the target's default "
            f"max_logical_replication_workers is {APPLY_WORKERS}: give the target a cluster "
            "parameter group with more (--db-cluster-parameter-group)",
        )


def _check_not_carried(databases: Sequence[DatabaseFacts], f: Findings) -> None:
    sequences = sum(d.sequences for d in databases)
    f.add(
        "ok",
        "catch-up-sequences",
        f"{sequences} sequence(s): logical replication does not carry them; the cutover sets "
        "each on the target to the source's value, inside the freeze",
    )
    f.add(
        "ok",
        "catch-up-ddl",
        "schema changes (DDL) after the publication are not replicated: the cutover compares "
        "both schemas and stops, changing nothing, where they differ. Make none until then",
    )
    lobs = sum(d.large_objects for d in databases)
    if lobs:
        f.add(
            "warn",
            "catch-up-large-objects",
            f"{lobs} large object(s): logical replication does not carry them; one written "
            "after the snapshot is not on the target",
        )
    unlogged = tuple(t for d in databases for t in d.unlogged)
    if unlogged:
        f.add(
            "warn",
            "catch-up-unlogged",
            f"{len(unlogged)} unlogged table(s) are neither in the snapshot's data nor "
            f"replicated: {listed(unlogged)}; the target has them empty",
        )
    matviews = tuple(t for d in databases for t in d.matviews)
    if matviews:
        f.add(
            "warn",
            "catch-up-matviews",
            f"{len(matviews)} materialized view(s) keep the snapshot's contents (a REFRESH on "
            f"the source is not replicated): {listed(matviews)}; refresh them on the target "
            "after the cutover",
        )


def _check_login(inp: Inputs, f: Findings) -> None:
    src = inp.source
    groups = ", ".join(src.security_group_ids) or "the default group"
    f.add(
        "ok",
        "catch-up-network",
        f"the copy's server dials {src.endpoint}:{src.port} as {src.master_username}: the "
        f"security groups both clusters share ({groups}) must admit that",
    )
    if src.master_user_secret_arn:
        f.add(
            "warn",
            "catch-up-password",
            "the master password is managed by Secrets Manager: the subscription logs in with "
            "it as read at the migration; if it rotates before the cutover the catch-up stops "
            "(status shows it disconnected) -- pause rotation until then",
        )

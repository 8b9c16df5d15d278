"""Logical replication in the lab, as Aurora PostgreSQL offers it.

- ``rds.logical_replication = 1`` in a custom DB cluster parameter group gives
  ``wal_level = logical`` once the writer reboots (a static parameter:
  pending-reboot until then), with room for slots and senders:
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraPostgreSQL.Replication.Logical.Configure.html
- A restored cluster (snapshot or clone) has ``aurora_volume_logical_start_lsn()``,
  the LSN at which its snapshot or clone was taken: the anchor for catching the
  copy up by logical replication (``pg_replication_origin_advance``):
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora_volume_logical_start_lsn.html
- The copy holds the source's replication slots, as Aurora's copy of the
  volume does (AWS says to drop them on the clone):
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraPostgreSQL.MajorVersionUpgrade.html
"""

from __future__ import annotations

import logging
import re
import shutil
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from snapmigrate.errors import OperationFailed
from snapmigrate_lab.pgrun import hand_over
from snapmigrate_lab.postgres import PgServer

log = logging.getLogger(__name__)

PARAMETER = "rds.logical_replication"
#: What ``rds.logical_replication = 1`` sets (the group's own values of these win).
LOGICAL_SETTINGS = {"wal_level": "logical", "max_replication_slots": "20", "max_wal_senders": "20"}
#: Static parameters of a cluster parameter group the lab's servers follow (at a reboot).
FOLLOWED = (
    "max_replication_slots",
    "max_wal_senders",
    "max_logical_replication_workers",
    "max_worker_processes",
)
#: The first minor of each major with aurora_volume_logical_start_lsn() (16 and later: all).
START_LSN_SINCE = {10: 20, 11: 15, 12: 10, 13: 6, 14: 3, 15: 2}
FUNCTION = "aurora_volume_logical_start_lsn"
_LSN = re.compile(r"^[0-9A-F]{1,8}/[0-9A-F]{1,8}$")


def group_settings(parameters: Mapping[str, str], engine_mode: str | None) -> dict[str, str]:
    """The server settings a cluster parameter group's values make (pure)."""
    # Aurora Serverless v1 offers no logical replication:
    # https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless.html
    on = (
        str(parameters.get(PARAMETER, "0")).strip().lower() in ("1", "on", "true")
        and engine_mode != "serverless"
    )
    settings = {**LOGICAL_SETTINGS} if on else {}
    settings[PARAMETER] = "on" if on else "off"  # a placeholder setting: SHOW answers as on Aurora
    settings.update(
        {name: str(parameters[name]) for name in FOLLOWED if parameters.get(name) not in (None, "")}
    )
    return settings


def read_group(rds: Any, name: str | None) -> dict[str, str]:
    """The values set in cluster parameter group ``name`` (moto keeps only those;
    default groups are unknown to it: nothing set)."""
    import botocore.exceptions

    if not name:
        return {}
    values: dict[str, str] = {}
    marker: str | None = None
    try:
        while True:
            page = rds.describe_db_cluster_parameters(
                DBClusterParameterGroupName=name, **({"Marker": marker} if marker else {})
            )
            for p in page.get("Parameters", []):
                if p.get("ParameterValue") is not None:
                    values[p["ParameterName"]] = str(p["ParameterValue"])
            marker = page.get("Marker")
            if not marker:
                return values
    except botocore.exceptions.ClientError:
        return {}


def cluster_settings(rds: Any, cluster: Mapping[str, Any]) -> dict[str, str]:
    """The settings of ``cluster``'s parameter group, read from moto."""
    parameters = read_group(rds, cluster.get("DBClusterParameterGroup"))
    return group_settings(parameters, cluster.get("EngineMode"))


# -- the start LSN of a copy ----------------------------------------------------------------


def has_start_lsn(engine_version: str) -> bool:
    """Whether Aurora offers aurora_volume_logical_start_lsn() on ``engine_version`` (pure)."""
    parts = engine_version.split(".")
    try:
        major, minor = int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        return False
    since = START_LSN_SINCE.get(major)
    return major >= 16 if since is None else minor >= since


def checkpoint_lsn(datadir: Path) -> str:
    """The latest checkpoint of a cleanly stopped data directory, from ``global/pg_control``
    (its head -- system id, versions, state, time, checkpoint -- is the same in 10 to 18)."""
    head = (datadir / "global" / "pg_control").read_bytes()[:40]
    (location,) = struct.unpack_from("<Q", head, 32)
    return f"{location >> 32:X}/{location & 0xFFFFFFFF:X}"


def create_start_lsn_function(server: PgServer, lsn: str) -> list[str]:
    """Create ``aurora_volume_logical_start_lsn()`` returning ``lsn`` in every database
    of ``server`` that takes connections (template1 too, so new ones have it); which."""
    import psycopg
    from psycopg import sql

    if not _LSN.match(lsn):
        raise OperationFailed(f"not an LSN: {lsn!r}")
    body = sql.Literal(f"SELECT '{lsn}'::pg_lsn")
    create = sql.SQL(
        "CREATE OR REPLACE FUNCTION pg_catalog.{}() RETURNS pg_lsn"
        " LANGUAGE sql IMMUTABLE PARALLEL SAFE AS {}"
    ).format(sql.Identifier(FUNCTION), body)
    databases = _databases(server)
    for name in databases:
        with psycopg.connect(server.dsn(name), autocommit=True) as conn:
            conn.execute(
                "SET default_transaction_read_only = off"
            )  # a frozen copy stays frozen for others
            conn.execute(create)
    return databases


def drop_start_lsn_function(server: PgServer) -> None:
    """Drop the function a copy of a restored cluster may carry (its LSN is not this copy's)."""
    import psycopg
    from psycopg import sql

    for name in _databases(server):
        with psycopg.connect(server.dsn(name), autocommit=True) as conn:
            conn.execute("SET default_transaction_read_only = off")
            conn.execute(
                sql.SQL("DROP FUNCTION IF EXISTS pg_catalog.{}()").format(sql.Identifier(FUNCTION))
            )


def _databases(server: PgServer) -> list[str]:
    import psycopg

    with psycopg.connect(server.dsn("postgres"), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname"
        ).fetchall()
    return [str(r[0]) for r in rows]


def end_wal_at(datadir: Path, lsn: str) -> int:
    """Make a base backup's WAL end at ``lsn`` (its end point, a record boundary):
    the segment holding it is zeroed from there on, later segments go. Recovery
    otherwise replays every record streamed after the end point too, and the copy
    would hold commits its start LSN says it does not -- a subscriber from that
    LSN then applies them twice. The bytes zeroed."""
    value = int(lsn.split("/")[0], 16) << 32 | int(lsn.split("/")[1], 16)
    zeroed = 0
    for segment in sorted((datadir / "pg_wal").iterdir()):
        if not re.fullmatch(r"[0-9A-F]{24}", segment.name):
            continue
        size = segment.stat().st_size
        per_log = 0x100000000 // size
        number = int(segment.name[8:16], 16) * per_log + int(segment.name[16:], 16)
        first = number * size
        if first >= value:
            segment.unlink()
        elif value < first + size:
            offset = value - first
            with segment.open("r+b") as f:
                f.seek(offset)
                f.write(bytes(size - offset))
            zeroed += size - offset
    return zeroed


# -- replication slots in a copy -------------------------------------------------------------


def persistent_slots(server: PgServer) -> dict[str, str]:
    """The server's persistent replication slots: name -> 'logical' or 'physical'."""
    import psycopg

    with psycopg.connect(server.dsn("postgres"), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT slot_name, slot_type FROM pg_replication_slots WHERE NOT temporary"
        ).fetchall()
    return {str(name): str(kind) for name, kind in rows}


def slots_on_disk(datadir: Path) -> dict[str, str]:
    """The replication slots saved in a data directory: name -> 'logical' or 'physical'
    (a slot's state file holds its name, then its database: none for a physical slot;
    the same layout in 10 to 18)."""
    slots: dict[str, str] = {}
    folder = datadir / "pg_replslot"
    for entry in sorted(folder.iterdir()) if folder.is_dir() else ():
        try:
            head = (entry / "state").read_bytes()[:84]
        except OSError:
            continue
        if len(head) == 84:
            (database,) = struct.unpack_from("<I", head, 80)
            slots[entry.name] = "logical" if database else "physical"
    return slots


def copy_slots(source: Path, copy: Path) -> dict[str, str]:
    """Put the source's slots into a physical copy (pg_basebackup leaves them out;
    Aurora's copy of the volume has them), as saved by the backup's starting
    checkpoint; the slots copied."""
    slots = slots_on_disk(source)
    for name in slots:
        target = copy / "pg_replslot" / name
        target.mkdir(mode=0o700, parents=True, exist_ok=True)
        shutil.copy2(source / "pg_replslot" / name / "state", target / "state")
        hand_over(target)
    return slots

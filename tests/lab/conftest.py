"""Helpers for the lab's own tests."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest

from tests.waits import wait_until

PASSWORD = "lab-test-Pa55word"


def wait_for(
    describe: Callable[[], dict[str, Any]],
    field: str,
    status: str,
    what: str,
    timeout_s: float = 120,
) -> dict[str, Any]:
    """Poll ``describe`` until its ``field`` shows ``status``; fail after ``timeout_s`` (a data
    move -- a restore at a newer major, an upgrade -- takes seconds on a busy machine)."""
    return wait_until(
        f"{what} to become {status}",
        lambda: found if (found := describe())[field] == status else None,
        timeout_s=timeout_s,
    )


def first(answer: dict[str, Any], key: str) -> dict[str, Any]:
    found: dict[str, Any] = answer[key][0]
    return found


def wait_cluster(
    rds: Any, cluster_id: str, status: str = "available", timeout_s: float = 120
) -> dict[str, Any]:
    def describe() -> dict[str, Any]:
        return first(rds.describe_db_clusters(DBClusterIdentifier=cluster_id), "DBClusters")

    return wait_for(describe, "Status", status, cluster_id, timeout_s)


def wait_snapshot(rds: Any, snapshot_id: str, timeout_s: float = 120) -> dict[str, Any]:
    def describe() -> dict[str, Any]:
        snaps = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=snapshot_id)
        return first(snaps, "DBClusterSnapshots")

    return wait_for(describe, "Status", "available", snapshot_id, timeout_s)


def wait_instance(rds: Any, instance_id: str, timeout_s: float = 120) -> dict[str, Any]:
    def describe() -> dict[str, Any]:
        return first(rds.describe_db_instances(DBInstanceIdentifier=instance_id), "DBInstances")

    return wait_for(describe, "DBInstanceStatus", "available", instance_id, timeout_s)


def create_cluster(rds: Any, cluster_id: str, **overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "DBClusterIdentifier": cluster_id,
        "Engine": "aurora-postgresql",
        "EngineVersion": "15.4",
        "MasterUsername": "master",
        "MasterUserPassword": PASSWORD,
    }
    params.update(overrides)
    rds.create_db_cluster(**params)
    return wait_cluster(rds, cluster_id)


def add_writer(rds: Any, cluster_id: str, suffix: str = "1", **extra: Any) -> str:
    """A provisioned instance in the cluster (its first is the writer, any other a
    reader); its identifier."""
    instance_id = f"{cluster_id}-{suffix}"
    rds.create_db_instance(
        DBInstanceIdentifier=instance_id,
        DBClusterIdentifier=cluster_id,
        Engine="aurora-postgresql",
        DBInstanceClass="db.r6g.large",
        **extra,
    )
    return instance_id


def reached(
    lab: Any,
    host: str,
    database: str = "postgres",
    *,
    user: str = "master",
    password: str = PASSWORD,
) -> tuple[int, bool]:
    """Through the lab's connect map, as a client of ``host``: (the port of the server it
    reached, whether that server is a replica)."""
    import json

    import psycopg

    routes = json.loads(lab.connect_map_path.read_text())["routes"]
    local = routes[host if ":" in host else f"{host}:5432"]
    address, port = local.rsplit(":", 1)
    with psycopg.connect(
        host=address,
        port=int(port),
        dbname=database,
        user=user,
        password=password,
        sslmode="require",
        connect_timeout=5,
        autocommit=True,
    ) as conn:
        row = conn.execute("SELECT inet_server_port(), pg_is_in_recovery()").fetchone()
    assert row is not None
    return int(row[0]), bool(row[1])


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def port_answers(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def rds(lab: Any) -> Any:
    return lab.client("rds")

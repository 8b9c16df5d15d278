"""What AWS does around a call and moto does not: the lab's effects after a
call succeeded, the calls it answers itself, resources created into a
failure state, and the restore moto cannot do.

- after: a cluster's origin (created, restored, cloned) and whether its first
  instance must be provisioned; ``upgrading`` after an engine version change;
  the managed secret ``creating`` (or ``rotating``) before ``active``; a
  renamed cluster's names resolving only after ``rename_dns_delay_s``;
- ``EnableHttpEndpoint`` / ``DisableHttpEndpoint`` (moto: not implemented);
- a ``state`` fail rule: the creation succeeds, the resource passes through
  ``creating`` into the failure state and stays; no server is started;
- ``RestoreDBClusterFromSnapshot`` of a snapshot whose cluster manages its
  password (moto crashes with a KeyError): made with ``CreateDBCluster`` from
  the snapshot's settings, answered as the restore.
"""

from __future__ import annotations

import secrets
import threading
from typing import Any

from snapmigrate_lab import engines
from snapmigrate_lab.answers import split_arn
from snapmigrate_lab.history import CLONED, CREATED, RESTORED
from snapmigrate_lab.queryxml import render
from snapmigrate_lab.realism import FAILING_CREATIONS
from snapmigrate_lab.rules import Glue
from snapmigrate_lab.wire import AwsCall, Forward, Refused, Response

ORIGINS = {
    "CreateDBCluster": CREATED,
    "RestoreDBClusterFromSnapshot": RESTORED,
    "RestoreDBClusterToPointInTime": RESTORED,
}


def after(glue: Glue, call: AwsCall, before: dict[str, Any] | None) -> None:
    """Follow a call that succeeded (the data plane has already followed it)."""
    action, region = call.action or "", call.region
    cluster_id = call.param("DBClusterIdentifier") or ""
    if action in ORIGINS:
        origin = ORIGINS[action]
        if (
            action == "RestoreDBClusterToPointInTime"
            and call.param("RestoreType") == "copy-on-write"
        ):
            origin = CLONED
        record = glue.history.begin(region, cluster_id, origin)
        if action == "RestoreDBClusterFromSnapshot":
            record.provisioned_first = _restored_to_new_major(glue, call)
        if action == "CreateDBCluster":
            record.http_endpoint = (
                bool(call.flag("EnableHttpEndpoint")) and call.param("EngineMode") == "serverless"
            )
        if call.flag("ManageMasterUserPassword"):
            glue.realism.begin("secret", region, cluster_id, "creating")
    elif action == "ModifyDBCluster":
        _modified(glue, call, before or {})
    elif action == "CreateDBInstance" and cluster_id:
        found = glue.history.get(region, cluster_id)
        if found is not None:
            found.provisioned_first = (
                False  # "This addition starts the final stage of the upgrade process."
            )
    elif action == "DeleteDBCluster":
        glue.history.forget(region, cluster_id)
        glue.realism.forget("secret", region, cluster_id)


def _restored_to_new_major(glue: Glue, call: AwsCall) -> bool:
    """A restore at a higher major than the snapshot's is a major version upgrade by
    snapshot restore: its first instance must be provisioned.
    https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2.upgrade.html
    """
    snap_region, snapshot_id = split_arn(call.param("SnapshotIdentifier") or "", call.region)
    snapshot = glue.snapshot(snap_region, snapshot_id) or {}
    source = engines.find(snapshot.get("Engine"), snapshot.get("EngineVersion"))
    target = engines.find(snapshot.get("Engine"), call.param("EngineVersion"))
    return source is not None and target is not None and engines.is_major_upgrade(source, target)


def _modified(glue: Glue, call: AwsCall, before: dict[str, Any]) -> None:
    region = call.region
    cluster_id = call.param("DBClusterIdentifier") or ""
    new_id = call.param("NewDBClusterIdentifier")
    if new_id and new_id != cluster_id:
        delay = glue.realism.knobs.rename_dns_delay_s
        glue.history.rename(region, cluster_id, new_id, dns_delay_s=delay)
        glue.realism.rename("secret", region, cluster_id, new_id)
        cluster_id = new_id
        if delay > 0 and glue.republish is not None:
            timer = threading.Timer(
                delay + 0.05, glue.republish
            )  # the names appear in the connect map
            timer.daemon = True
            timer.start()
    record = glue.history.record(region, cluster_id)
    version = call.param("EngineVersion")
    if version and before.get("EngineVersion") and version != before["EngineVersion"]:
        glue.realism.begin("cluster", region, cluster_id, "upgrading")
        current = engines.find(before.get("Engine"), before.get("EngineVersion"))
        target = engines.find(before.get("Engine"), version)
        major = (
            current is not None and target is not None and engines.is_major_upgrade(current, target)
        )
        if major and record.origin != CREATED and not glue.topology.members(region, cluster_id):
            record.provisioned_first = True
    if call.flag("ManageMasterUserPassword"):
        glue.realism.begin("secret", region, cluster_id, "creating")
    elif call.flag("RotateMasterUserPassword"):
        glue.realism.begin("secret", region, cluster_id, "rotating")
    if call.param("EnableHttpEndpoint") is not None and before.get("EngineMode") == "serverless":
        record.http_endpoint = bool(
            call.flag("EnableHttpEndpoint")
        )  # v1 takes the Data API this way


# -- calls the lab answers itself -------------------------------------------------


def answer(glue: Glue, call: AwsCall) -> Response | None:
    """``EnableHttpEndpoint`` / ``DisableHttpEndpoint``: only these two errors exist.
    https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_EnableHttpEndpoint.html
    """
    if call.action not in ("EnableHttpEndpoint", "DisableHttpEndpoint"):
        return None
    arn = call.param("ResourceArn") or ""
    parts = arn.split(":", 6)
    cluster = None
    if len(parts) == 7 and parts[5] == "cluster":
        region, cluster_id = parts[3], parts[6]
        cluster = glue.cluster(region, cluster_id)
    if cluster is None:
        raise Refused("ResourceNotFoundFault", "The specified resource ID was not found.")
    if glue.realism.busy("cluster", region, cluster_id) or cluster.get("Status") != "available":
        raise Refused(
            "InvalidResourceStateFault",
            "The operation can't be performed because another operation is in progress.",
        )
    enabled = call.action == "EnableHttpEndpoint"
    glue.history.record(region, cluster_id).http_endpoint = enabled
    return render("rds", call.action, {"ResourceArn": arn, "HttpEndpointEnabled": enabled})


# -- creations ending in a failure state ----------------------------------------------


def fail(glue: Glue, call: AwsCall, state: str) -> None:
    """The created resource shows ``creating``, then ``state`` for good."""
    kind = FAILING_CREATIONS[call.action or ""]
    if kind == "cluster":
        cluster_id = call.param("DBClusterIdentifier") or ""
        glue.topology.add_cluster(call.region, cluster_id)
        glue.realism.fail("cluster", call.region, cluster_id, state)
    else:
        glue.realism.fail("instance", call.region, call.param("DBInstanceIdentifier") or "", state)


# -- the restore moto cannot do ----------------------------------------------------------


def restore_by_create(
    glue: Glue, call: AwsCall, params: dict[str, str], forward: Forward
) -> Response | None:
    """``params`` restored through ``CreateDBCluster`` with the snapshot's settings (None
    when the snapshot is unknown). The new cluster does not manage its password: a
    restore cannot turn that on, ModifyDBCluster can.
    https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/rds-secrets-manager.html
    """
    snap_region, snapshot_id = split_arn(params.get("SnapshotIdentifier") or "", call.region)
    snapshot = glue.snapshot(snap_region, snapshot_id)
    if snapshot is None:
        return None
    source = glue.cluster(snap_region, snapshot.get("DBClusterIdentifier") or "") or {}
    create = {k: v for k, v in params.items() if k not in ("Action", "SnapshotIdentifier")}
    defaults = {
        "Engine": snapshot.get("Engine"),
        "EngineVersion": snapshot.get("EngineVersion"),
        "EngineMode": source.get("EngineMode"),
        "DatabaseName": source.get("DatabaseName"),
        "Port": str(snapshot.get("Port") or ""),
        "KmsKeyId": snapshot.get("KmsKeyId"),
        "StorageEncrypted": "true" if snapshot.get("StorageEncrypted") else None,
    }
    create.update({k: str(v) for k, v in defaults.items() if v and k not in create})
    create.update(
        Action="CreateDBCluster",
        MasterUsername=str(snapshot.get("MasterUsername") or "postgres"),
        MasterUserPassword=secrets.token_urlsafe(
            18
        ),  # the data keeps the source's password, as on AWS
    )
    response = forward(create)
    action = (call.action or "").encode()
    body = response.body.replace(b"CreateDBClusterResponse", action + b"Response")
    return response.with_body(body.replace(b"CreateDBClusterResult", action + b"Result"))

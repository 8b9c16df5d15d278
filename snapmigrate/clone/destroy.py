"""Destroy clones: their instances, then their clusters, waited until gone.

One path for ``destroy``, ``gc``, ``reset`` and a failed ``create``. Each
clone is read again right before anything is deleted (someone may have
protected it since it was listed). A clone declared disposable
(``snapmigrate:final-snapshot=no``, which every clone carries) is deleted
without a final snapshot; a cluster without that tag keeps a final snapshot.
"Deleting a DB cluster deletes all automated backups for that DB cluster"
(the default of ``DeleteAutomatedBackups``, sent explicitly):
https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DeleteDBCluster.html
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from snapmigrate.aws import Aws, rds
from snapmigrate.clone.context import CloneSettings
from snapmigrate.clone.lease import Lease, made_by, refusal
from snapmigrate.errors import BadInput, NotFound
from snapmigrate.progress import Status
from snapmigrate.waiting import Waiter

log = logging.getLogger(__name__)

#: Statuses a cluster or instance leaves by itself; AWS refuses to delete it meanwhile.
SETTLED = frozenset({"available", "stopped", "deleting"}) | rds.FAILED_STATES


@dataclass(frozen=True)
class Doomed:
    """A clone about to go, as read right before."""

    name: str
    lease: Lease
    instances: tuple[str, ...]


def check(
    aws: Aws, names: Sequence[str], now: datetime, *, run_id: str | None = None
) -> list[Doomed]:
    """Each clone read again and checked (exit 2 before anything is deleted): a clone,
    unprotected, without deletion protection -- or, with ``run_id`` (a failed create),
    made by that run. A name no cluster holds is skipped (already gone)."""
    found = []
    for name in names:
        cluster = rds.find_cluster(aws, name)
        if cluster is None:
            log.info("clone %s is already gone", name)
            continue
        seen = Lease.of(name, rds.tags_of(cluster))
        if run_id is not None:
            if not made_by(rds.tags_of(cluster), run_id):
                raise BadInput(f"cluster {name} is not the one this run created: left alone")
        else:
            why = refusal(seen, now)
            if why:
                raise BadInput(why)
        if cluster.get("DeletionProtection"):
            raise BadInput(
                f"clone {name} has deletion protection on (turned on by hand): turn it off "
                "yourself if it should go; nothing was changed"
            )
        instances = tuple(sorted(rds.instances_of(aws, name)))
        found.append(Doomed(name, seen, instances))
    return found


def destroy(
    aws: Aws,
    doomed: Sequence[Doomed],
    waiter: Waiter,
    settings: CloneSettings,
    *,
    stamp: Callable[[], str],
) -> tuple[str, ...]:
    """Delete the instances, wait, delete the clusters, wait until they are gone."""
    if not doomed:
        return ()
    policy = settings.policy(15)
    clusters = tuple(d.name for d in doomed)
    _settle(aws, doomed, waiter, settings)
    instances = tuple(i for d in doomed for i in d.instances)
    for instance_id in instances:
        found = rds.find_instance(aws, instance_id)
        if found is not None and found.get("DBInstanceStatus") != "deleting":
            with contextlib.suppress(NotFound):
                aws.call(
                    f"delete instance {instance_id}",
                    aws.rds().delete_db_instance,
                    DBInstanceIdentifier=instance_id,
                )
    if instances:

        def instances_gone() -> dict[str, Status]:
            return {i: _gone(rds.find_instance(aws, i), "DBInstanceStatus") for i in instances}

        waiter.wait(
            f"deletion of {len(instances)} instance(s)", instances_gone, policy, labels=instances
        )
    for d in doomed:
        found = rds.find_cluster(aws, d.name)
        if found is None or found.get("Status") == "deleting":
            continue
        final: dict[str, Any] = {"SkipFinalSnapshot": True}
        if d.lease.final_snapshot:
            final = {
                "SkipFinalSnapshot": False,
                "FinalDBSnapshotIdentifier": f"{d.name}-final-{stamp()}",
            }
            log.warning(
                "%s is not declared disposable: taking final snapshot %s",
                d.name,
                final["FinalDBSnapshotIdentifier"],
            )
        with contextlib.suppress(NotFound):
            aws.call(
                f"delete cluster {d.name}",
                aws.rds().delete_db_cluster,
                DBClusterIdentifier=d.name,
                DeleteAutomatedBackups=True,
                **final,
            )

    def clusters_gone() -> dict[str, Status]:
        return {c: _gone(rds.find_cluster(aws, c), "Status") for c in clusters}

    waiter.wait(f"deletion of {', '.join(clusters)}", clusters_gone, policy, labels=clusters)
    return clusters


def _gone(resource: rds.Resource | None, key: str) -> Status:
    if resource is None:
        return Status("deleted", done=True)
    return Status(str(resource.get(key, "unknown")))


def _settle(aws: Aws, doomed: Sequence[Doomed], waiter: Waiter, settings: CloneSettings) -> None:
    """Wait until no cluster or instance is between states (creating, modifying...)."""
    labels = tuple(d.name for d in doomed) + tuple(i for d in doomed for i in d.instances)

    def poll() -> dict[str, Status]:
        seen: dict[str, Status] = {}
        for d in doomed:
            cluster = rds.find_cluster(aws, d.name)
            status = str((cluster or {}).get("Status", "deleted"))
            seen[d.name] = Status(status, done=cluster is None or status in SETTLED)
            for i in d.instances:
                inst = rds.find_instance(aws, i)
                status = str((inst or {}).get("DBInstanceStatus", "deleted"))
                seen[i] = Status(status, done=inst is None or status in SETTLED)
        return seen

    waiter.wait("clones to settle before deletion", poll, settings.policy(15), labels=labels)

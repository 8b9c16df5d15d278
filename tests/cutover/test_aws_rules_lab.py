"""AWS's rules around a cutover, against the lab (issue #10): cleanup never deletes
a live target and keeps a final snapshot; a DNS swap keeps every field of the
record set; a rename waits for its new names (``rename_dns_delay_s``) and warns
about what it does not move and about sharing."""

from __future__ import annotations

import time
from typing import Any

import pytest

from snapmigrate import commands
from snapmigrate.commands import Config
from snapmigrate.cutover import Cutover, CutoverOptions, CutoverState
from snapmigrate.errors import BadInput, OperationFailed
from snapmigrate.plan import make_plan
from snapmigrate.plan.options import PlanOptions
from tests.cutover.conftest import Migrated
from tests.lab.conftest import wait_cluster

pytestmark = pytest.mark.slow


def cutover(m: Migrated) -> Cutover:
    return Cutover(m.lab.clients(), m.journal, connect_map=str(m.lab.connect_map_path))


def config(m: Migrated) -> Config:
    return Config.from_options(
        state_dir=str(m.state_dir), connect_map=str(m.lab.connect_map_path), clients=m.lab.clients()
    )


def weighted_with_health_check(m: Migrated) -> dict[str, Any]:
    """The record clients use made a weighted set whose member pointing at the source
    has a health check; the member as Route 53 holds it."""
    r53 = m.lab.client("route53")
    check = r53.create_health_check(
        CallerReference=f"hc-{m.source}",
        HealthCheckConfig={"Type": "TCP", "IPAddress": "192.0.2.10", "Port": 5432},
    )["HealthCheck"]["Id"]
    plain = {
        "Name": m.record,
        "Type": "CNAME",
        "TTL": 5,
        "ResourceRecords": [{"Value": m.source_endpoint}],
    }
    blue = {**plain, "SetIdentifier": "blue", "Weight": 100, "HealthCheckId": check}
    green = {
        **plain,
        "SetIdentifier": "green",
        "Weight": 0,
        "ResourceRecords": [{"Value": "standby.example.com"}],
    }
    changes = [
        {"Action": "DELETE", "ResourceRecordSet": plain},
        {"Action": "CREATE", "ResourceRecordSet": blue},
        {"Action": "CREATE", "ResourceRecordSet": green},
    ]
    r53.change_resource_record_sets(HostedZoneId=m.zone_id, ChangeBatch={"Changes": changes})
    return blue


def member(m: Migrated, set_identifier: str) -> dict[str, Any]:
    sets = m.lab.client("route53").list_resource_record_sets(HostedZoneId=m.zone_id)
    found: dict[str, Any] = next(
        r for r in sets["ResourceRecordSets"] if r.get("SetIdentifier") == set_identifier
    )
    return found


def test_cleanup_refuses_a_live_target_and_after_the_rollback_keeps_a_final_snapshot(
    migrated: Migrated,
):
    blue = weighted_with_health_check(migrated)
    options = CutoverOptions(mode="dns", zone_id=migrated.zone_id, record_name=migrated.record)
    done = cutover(migrated).run(migrated.run_id, options)
    assert done.state.state == "done"
    # the swap changed the value only: weight, set identifier, health check stay
    swapped = member(migrated, "blue")
    assert swapped["ResourceRecords"][0]["Value"] != blue["ResourceRecords"][0]["Value"]
    assert {k: v for k, v in swapped.items() if k != "ResourceRecords"} == {
        k: v for k, v in blue.items() if k != "ResourceRecords"
    } | {"Name": swapped["Name"]}
    assert member(migrated, "green")["ResourceRecords"] == [{"Value": "standby.example.com"}]

    before = migrated.cluster_ids()
    asked: list[str] = []
    with pytest.raises(BadInput) as err:
        commands.cleanup(config(migrated), migrated.run_id, confirm=asked.append)  # type: ignore[arg-type]
    assert err.value.exit_code == 2 and asked == []
    assert f"{migrated.record} points at {migrated.target}" in str(err.value)
    assert f"snapmigrate rollback {migrated.run_id}" in str(err.value)
    assert migrated.cluster_ids() == before  # nothing changed

    cutover(migrated).rollback(migrated.run_id)
    assert member(migrated, "blue") == {**blue, "Name": member(migrated, "blue")["Name"]}
    rows = migrated.psql(migrated.target, "SELECT count(*) FROM pgbench_accounts")

    def yes(question: str) -> bool:
        asked.append(question)
        return True

    result = commands.cleanup(config(migrated), migrated.run_id, confirm=yes)
    final = f"{migrated.target}-final-{migrated.run_id}"
    assert f"the target of run {migrated.run_id}, not live: its cutover was rolled back" in asked[0]
    assert f"A final snapshot {final} is taken first, and kept." in asked[0]
    assert result.final_snapshot == final and migrated.target not in migrated.cluster_ids()
    # the final snapshot holds the data: it restores
    rds = migrated.lab.client("rds")
    back = f"{migrated.target}-back"
    rds.restore_db_cluster_from_snapshot(
        DBClusterIdentifier=back, SnapshotIdentifier=final, Engine="aurora-postgresql"
    )
    wait_cluster(rds, back)
    assert migrated.psql(back, "SELECT count(*) FROM pgbench_accounts") == rows


def test_a_rename_waits_for_its_new_names_and_warns_what_it_does_not_move(
    migrated: Migrated, lab_knobs: Any
):
    ram = migrated.lab.client("ram")
    arn = migrated.lab.client("rds").describe_db_clusters(DBClusterIdentifier=migrated.source)[
        "DBClusters"
    ][0]["DBClusterArn"]
    ram.create_resource_share(
        name=f"share-{migrated.source}", resourceArns=[arn], principals=["111122223333"]
    )
    lab_knobs.set_knobs(rename_dns_delay_s=3)
    started = time.monotonic()
    done = cutover(migrated).run(migrated.run_id, CutoverOptions(mode="rename"))
    state = done.state
    assert state.state == "done", state.error
    assert time.monotonic() - started >= 3
    prove = state.phase("prove")
    assert prove is not None and (prove.took_s or 0) >= 2.5  # the names came late; it waited
    checks = {g.name: g for g in state.guardrails or ()}
    assert checks["sharing"].warn and f"share-{migrated.source}" in checks["sharing"].message
    assert checks["not moved"].passed
    cutover(migrated).rollback(migrated.run_id)
    # the plan says it before anyone cuts over
    planned = make_plan(
        migrated.lab.clients(), migrated.source, PlanOptions(target="x-plan", cutover="rename")
    )
    (finding,) = [f for f in planned.findings if f.code == "cutover"]
    assert "instance identifiers and instance endpoints do not move" in finding.message
    assert "custom endpoints are not in a snapshot" in finding.message
    assert "--prove-timeout" in finding.message and "TLS" in finding.message


def test_a_rename_whose_names_outlast_the_proof_window_rolls_back(
    migrated: Migrated, lab_knobs: Any
):
    lab_knobs.set_knobs(rename_dns_delay_s=6)
    options = CutoverOptions(mode="rename", prove_timeout_s=1.0)
    with pytest.raises(OperationFailed, match="did not reach a writable target"):
        cutover(migrated).run(migrated.run_id, options)
    state = CutoverState.of(migrated.journal.load(migrated.run_id).cutover)
    assert state.state == "rolled-back"
    assert migrated.source in migrated.cluster_ids() and migrated.target in migrated.cluster_ids()

"""The in-place path end to end in the lab, under a write load through the cluster's
endpoint: a Serverless v1 cluster and a provisioned one each end with only
db.serverless instances in two zones, the same name and endpoint, the data of the
safety snapshot, no committed write lost, each outage measured and reported."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from snapmigrate.errors import OperationFailed
from snapmigrate.inplace.cluster import safety_snapshot_id
from snapmigrate.loadgen import LoadOptions
from snapmigrate.migrate.runner import Runner, RunResult
from snapmigrate.plan import make_plan
from snapmigrate.plan.options import PlanOptions
from snapmigrate.workflow.journal import Journal
from snapmigrate_lab import load as labload
from tests.inplace.test_plan import V1_STEPS
from tests.lab.conftest import add_writer, create_cluster, wait_cluster, wait_instance
from tests.lab.test_replicas import eventually, sql
from tests.lab_fixtures import need_majors, unique_id
from tests.migrate.test_aws_rules_lab import settings

pytestmark = pytest.mark.slow

ORDERS = "SELECT count(*), md5(string_agg(id::text || note, ',' ORDER BY id)) FROM orders"


def v1_source(rds: Any, lab: Any, version: str = "13.12", prefix: str = "ipv1") -> str:
    """A Serverless v1 cluster of ``version`` holding the orders table."""
    source = unique_id(prefix)
    create_cluster(
        rds,
        source,
        EngineVersion=version,
        EngineMode="serverless",
        ScalingConfiguration={"MinCapacity": 2, "MaxCapacity": 8, "AutoPause": False},
        DatabaseName="app",
    )
    return _orders(lab, source)


def provisioned_source(rds: Any, lab: Any) -> str:
    source = unique_id("ipprov")
    create_cluster(rds, source, EngineVersion="15.4", DatabaseName="app")
    wait_instance(rds, add_writer(rds, source))
    return _orders(lab, source)


def _orders(lab: Any, source: str) -> str:
    lab.server_for(source).psql(
        "CREATE TABLE orders AS SELECT g AS id, md5(g::text) AS note "
        "FROM generate_series(1, 500) g",
        dbname="app",
    )
    return source


@contextlib.contextmanager
def load(lab: Any, endpoint: str, ids: Path) -> Iterator[list[labload.LoadReport]]:
    """An application's writes through the cluster endpoint while the block runs."""
    target = labload.target(lab, name=endpoint, user="master", database="app")
    stop = threading.Event()
    reports: list[labload.LoadReport] = []
    options = LoadOptions(workers=2, rate_per_worker=50, connect_timeout=2, retry_pause_s=0.02)
    loader = threading.Thread(
        target=lambda: reports.append(labload.run(target, options, ids_file=ids, stop=stop))
    )
    loader.start()
    try:
        eventually(lambda: ids.exists() and ids.stat().st_size > 0, "the first commit")
        yield reports
    finally:
        stop.set()
        loader.join(60)


def move_in_place(lab: Any, tmp_path: Path, source: str) -> tuple[RunResult, dict[str, Any]]:
    rds = lab.client("rds")
    before = wait_cluster(rds, source)
    made = make_plan(lab.clients(), source, PlanOptions(path="in-place", max_acu=4))
    assert not made.blocked, [f for f in made.findings if f.level == "block"]
    levels = {f.code: f.level for f in made.findings}
    assert levels["serverless-orderable"] == "ok"  # the lab answers for db.serverless
    ids = tmp_path / "ids.txt"
    with load(lab, before["Endpoint"], ids) as reports:
        result = Runner(lab.clients(), Journal(tmp_path / "state"), settings=settings(lab)).start(
            made
        )
    (report,) = reports
    target = labload.target(lab, name=before["Endpoint"], user="master", database="app")
    found = labload.check(target, ids)
    assert found.check.lost == 0 and found.check.present == len(report.result.committed) > 0
    return result, before


def check_end_state(lab: Any, result: RunResult, before: dict[str, Any]) -> dict[str, Any]:
    rds = lab.client("rds")
    source = before["DBClusterIdentifier"]
    assert result.record.state == "done"
    after = wait_cluster(rds, source)
    assert after["EngineMode"] == "provisioned"
    assert (after["Endpoint"], after["ReaderEndpoint"]) == (
        before["Endpoint"],
        before["ReaderEndpoint"],
    )
    instances = [
        rds.describe_db_instances(DBInstanceIdentifier=m["DBInstanceIdentifier"])["DBInstances"][0]
        for m in after["DBClusterMembers"]
    ]
    assert {i["DBInstanceClass"] for i in instances} == {"db.serverless"}
    assert len(instances) == 2 and len({i["AvailabilityZone"] for i in instances}) == 2
    writer = next(m for m in after["DBClusterMembers"] if m["IsClusterWriter"])
    assert writer["DBInstanceIdentifier"] == f"{source}-v2-1"
    assert after["ServerlessV2ScalingConfiguration"]["MaxCapacity"] == 4

    # The data of the safety snapshot: restored, its orders are the live ones.
    snap = safety_snapshot_id(source, result.run_id)
    copy = unique_id("proof")
    rds.restore_db_cluster_from_snapshot(
        DBClusterIdentifier=copy, SnapshotIdentifier=snap, Engine="aurora-postgresql"
    )
    wait_cluster(rds, copy)
    live = lab.server_for(source)
    assert sql(lab.server_for(copy), ORDERS) == sql(live, ORDERS)
    assert sql(live, ORDERS)[0][0] == 500
    return result.to_dict()


def test_a_v1_cluster_moves_in_place_under_load(lab, lab_env, tmp_path):
    source = v1_source(lab.client("rds"), lab)
    result, before = move_in_place(lab, tmp_path, source)
    data = check_end_state(lab, result, before)
    assert [s["name"] for s in data["steps"]] == list(V1_STEPS)
    outages = {o["step"]: o["write_unavailable_s"] for o in data["outages"]}
    assert set(outages) == {"convert", "failover"}
    assert all(seconds is not None and 0 < seconds < 30 for seconds in outages.values())
    print(f"\nin place from v1: write outages {outages}")


def test_a_provisioned_cluster_moves_in_place_under_load(lab, lab_env, tmp_path):
    source = provisioned_source(lab.client("rds"), lab)
    result, before = move_in_place(lab, tmp_path, source)
    data = check_end_state(lab, result, before)
    assert "convert" not in [s["name"] for s in data["steps"]]
    (outage,) = data["outages"]
    assert outage["step"] == "failover" and 0 < outage["write_unavailable_s"] < 30
    gone = f"{source}-1"
    assert not lab.client("rds").describe_db_instances(
        Filters=[{"Name": "db-instance-id", "Values": [gone]}]
    )["DBInstances"]
    print(f"\nin place from provisioned: write outage {outage}")


def test_a_v1_cluster_on_postgresql_11_is_converted_then_upgraded_in_place(lab, lab_env, tmp_path):
    """AWS's order for v1 on 11: convert, upgrade to a version with Serverless v2 (the one
    the plan chooses among 11.18's upgrade targets), then the provisioned cluster's steps
    (aurora-serverless-v2.upgrade.html)."""
    need_majors(11, 13)
    rds = lab.client("rds")
    source = v1_source(rds, lab, "11.18", "ip11")
    result, before = move_in_place(lab, tmp_path, source)
    names = [s.name for s in result.record.steps]
    assert names[:3] == ["safety-snapshot", "convert", "upgrade"]
    data = check_end_state(lab, result, before)
    after = wait_cluster(rds, source)
    planned = result.record.step("upgrade").outcome or ""
    assert int(after["EngineVersion"].split(".")[0]) >= 13 and data["state"] == "done"
    assert f"to {after['EngineVersion']};" in planned  # the version the plan chose
    outages = {o["step"]: o["write_unavailable_s"] for o in data["outages"]}
    assert set(outages) == {"convert", "upgrade", "failover"}
    assert all(seconds is not None and seconds > 0 for seconds in outages.values())
    print(f"\nin place from v1 11.18 to {after['EngineVersion']}: outages {outages}")


def test_max_write_outage_stops_before_the_failover_in_the_lab(lab, lab_env, tmp_path):
    """The conversion's real outage (tenths of a second) is over a 50 ms limit: the run
    stops before the failover, saying so; resumed without the limit, it finishes."""
    source = v1_source(lab.client("rds"), lab)
    made = make_plan(lab.clients(), source, PlanOptions(path="in-place"))
    journal = Journal(tmp_path / "state")
    strict = replace(settings(lab), max_write_outage_s=0.05)
    with pytest.raises(OperationFailed) as stopped:
        Runner(lab.clients(), journal, settings=strict).start(made)
    assert "step convert stopped writes for" in str(stopped.value)
    assert "stopped before step failover" in str(stopped.value)
    (record,) = journal.runs()
    assert record.step("failover").state == "failed" and record.step("convert").state == "done"
    writer = rds_writer(lab, source)
    assert writer == f"{source}-instance-1"  # the failover was not requested
    done = Runner(lab.clients(), journal, settings=settings(lab)).resume(record.run_id)
    assert done.record.state == "done" and rds_writer(lab, source) == f"{source}-v2-1"


def rds_writer(lab: Any, source: str) -> str:
    cluster = wait_cluster(lab.client("rds"), source)
    members = cluster["DBClusterMembers"]
    return str(next(m["DBInstanceIdentifier"] for m in members if m["IsClusterWriter"]))

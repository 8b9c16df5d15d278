"""Cutover and rollback in the lab: both modes, with a real write load, drift,
failed verification, postponement, and the way back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from snapmigrate import loadgen
from snapmigrate.cutover import Cutover, CutoverOptions
from snapmigrate.db import freeze as fz
from snapmigrate.db.connect import Endpoint
from snapmigrate.errors import DifferencesFound, PreflightBlocked
from tests.cutover.conftest import Migrated, migrate
from tests.lab_fixtures import need_majors

pytestmark = pytest.mark.slow


def cutover(m: Migrated, **options: Any) -> Cutover:
    return Cutover(m.lab.clients(), m.journal, connect_map=str(m.lab.connect_map_path), **options)


def dns(m: Migrated, **kw: Any) -> CutoverOptions:
    return CutoverOptions(mode="dns", zone_id=m.zone_id, record_name=m.record, **kw)


def frozen(m: Migrated, cluster_id: str) -> bool:
    return fz.is_frozen(m.endpoint(cluster_id), "app", connect_map=m.connect_map)


def target_endpoint(m: Migrated) -> str:
    return str(
        m.lab.client("rds").describe_db_clusters(DBClusterIdentifier=m.target)["DBClusters"][0][
            "Endpoint"
        ]
    )


@pytest.mark.parametrize("mode", ["dns", "rename"])
def test_cutover_under_load_loses_nothing_and_rolls_back(
    lab: Any, lab_env: dict[str, str], tmp_path: Path, mode: str
):
    """The zero-loss runbook: freeze before the snapshot, cut over, while an
    application writes through the name it uses the whole time."""
    runs: dict[str, Any] = {}

    def start_load(source: str, record: str) -> None:
        endpoint = lab.client("rds").describe_db_clusters(DBClusterIdentifier=source)["DBClusters"][
            0
        ]["Endpoint"]
        name = record if mode == "dns" else endpoint
        app = Migrated(lab, "", None, tmp_path, source, "", "", record, endpoint).by_name(name)  # type: ignore[arg-type]
        loadgen.ensure_table(app, "app", connect_map=lab_connect_map(lab))
        runs["load"] = loadgen.LoadRun(
            app,
            "app",
            loadgen.LoadOptions(workers=2, rate_per_worker=40),
            connect_map=lab_connect_map(lab),
        ).start()
        runs["app"] = app

    m = migrate(lab, tmp_path, freeze_before=True, before_snapshot=start_load)
    assert frozen(m, m.source)  # frozen since before the snapshot
    options = dns(m) if mode == "dns" else CutoverOptions(mode="rename")
    result = cutover(m).run(m.run_id, options)
    load = runs["load"]
    load.stop.wait(1.0)  # writes keep landing on the target after the cutover
    seen = load.stop_and_collect()
    c = result.record.cutover
    assert c["state"] == "done" and c["freeze_adopted"] is True
    assert [p["name"] for p in c["phases"]] == [
        "guardrails",
        "freeze",
        "catch-up",
        "verify",
        "swap",
        "prove",
    ]
    # the outage the tool reports is honest: the application never waited longer than that (plus
    # one of its retries); how short it is, is a benchmark figure (benchmarks/cutover_lab.py)
    assert c["unavailable_s"] > 0
    # every transaction the application saw committed is on the cluster that is live now
    check = loadgen.check_committed(
        runs["app"], "app", seen.committed, connect_map=lab_connect_map(lab)
    )
    assert seen.committed and check.lost == 0, check.to_dict()
    assert seen.longest_unavailability_s <= c["unavailable_s"] + 2.0
    live = m.source if mode == "rename" else m.target  # the target took the source's name on rename
    assert int(m.psql(live, "SELECT count(*) FROM snapmigrate_load")) >= len(seen.committed)
    swap = result.to_dict()["swap"]
    if mode == "dns":
        assert m.record_value() == target_endpoint(m)
        assert swap["rename"] is None and swap["dns"]["writer"]["value"] == m.source_endpoint
    else:
        assert f"{m.source}-old-{m.run_id}" in m.cluster_ids() and m.target not in m.cluster_ids()
        assert swap["dns"] is None and swap["rename"] == {
            "source": {"from": m.source, "to": f"{m.source}-old-{m.run_id}"},
            "target": {"from": m.target, "to": m.source},
            "endpoint": m.source_endpoint,
        }

    # the way back: writes made on the new cluster are counted, not copied back
    back = cutover(m).rollback(m.run_id)
    assert back.record.cutover["state"] == "rolled-back"
    writes = back.record.cutover["writes_since_cutover"]
    assert writes and any(
        w["table"].endswith("snapmigrate_load") and w["inserted"] > 0 for w in writes
    )
    assert not frozen(m, m.source)
    if mode == "dns":
        assert m.record_value() == m.source_endpoint
    else:
        assert {m.source, m.target} <= m.cluster_ids()
    again = cutover(m).rollback(m.run_id)  # idempotent
    assert again.record.cutover["state"] == "rolled-back"


def test_a_cutover_from_13_to_16_under_load_loses_nothing(
    lab: Any, lab_env: dict[str, str], tmp_path: Path
):
    """The v1 seed's PostgreSQL 13 migrated to 16.4 (restored at 13.12, upgraded: the data
    moved to 16; a provisioned bridge writer failed over to the db.serverless one), then
    the DNS cutover under load. (0.5 ACU minimum: the restore at 13.12 takes no 0.)"""
    need_majors(13, 16)
    runs: dict[str, Any] = {}

    def start_load(source: str, record: str) -> None:
        app = Endpoint("app", record, 5432, user="postgres")
        loadgen.ensure_table(app, "app", connect_map=lab_connect_map(lab))
        options = loadgen.LoadOptions(workers=2, rate_per_worker=40)
        runs["load"] = loadgen.LoadRun(app, "app", options, connect_map=lab_connect_map(lab))
        runs["app"] = runs["load"].start() and app

    m = migrate(
        lab,
        tmp_path,
        freeze_before=True,
        before_snapshot=start_load,
        engine_version="16.4",
        min_acu=0.5,
    )
    assert m.psql(m.source, "SHOW server_version_num")[:2] == "13"
    assert m.psql(m.target, "SHOW server_version_num")[:2] == "16"
    result = cutover(m).run(m.run_id, dns(m))
    load = runs["load"]
    load.stop.wait(1.0)
    seen = load.stop_and_collect()
    assert result.record.cutover["state"] == "done"
    check = loadgen.check_committed(
        runs["app"], "app", seen.committed, connect_map=lab_connect_map(lab)
    )
    assert seen.committed and check.lost == 0, check.to_dict()
    assert m.record_value() == target_endpoint(m)


def lab_connect_map(lab: Any) -> Any:
    from snapmigrate.connectmap import ConnectMap

    return ConnectMap.load(lab.connect_map_path)


def test_writes_after_the_snapshot_block_the_cutover_and_unfreeze(migrated: Migrated):
    m = migrated
    m.psql(m.source, 'UPDATE billing."Invoices" SET "Amount" = "Amount" + 1 WHERE "InvoiceId" <= 3')
    with pytest.raises(DifferencesFound, match="Invoices") as err:
        cutover(m).run(m.run_id, dns(m))
    assert "stale" in str(err.value)
    c = m.journal.load(m.run_id).cutover
    assert c["state"] == "rolled-back"
    assert any("Invoices" in t for t in c["drift"]["stale"])
    assert not frozen(m, m.source)
    assert m.record_value() == m.source_endpoint


def test_writes_before_the_snapshot_are_not_drift(
    lab: Any, lab_env: dict[str, str], tmp_path: Path
):
    """Counters that moved just before the snapshot: the copy has the rows, the cutover goes on."""
    m = migrate(
        lab,
        tmp_path,
        before_snapshot=lambda source, record: lab.server_for(source).psql(
            "INSERT INTO type_zoo (id, doc, docb, tags, happened, label) SELECT 100000 + g, '{}', "
            "'{}', '{}', now(), 'late' FROM generate_series(1, 5) g",
            dbname="app",
        ),
    )
    result = cutover(m).run(m.run_id, CutoverOptions(mode="rename"))
    assert result.record.cutover["state"] == "done"


def test_a_differing_target_fails_verification_and_rolls_back(migrated: Migrated):
    m = migrated
    m.psql(
        m.target, "DELETE FROM pgbench_accounts WHERE aid <= 2"
    )  # damage the copy, not the source
    with pytest.raises(DifferencesFound, match="final verification failed"):
        cutover(m).run(m.run_id, CutoverOptions(mode="rename"))
    c = m.journal.load(m.run_id).cutover
    assert c["state"] == "rolled-back" and c["verification"]["equal"] is False
    assert not frozen(m, m.source)
    assert {m.source, m.target} <= m.cluster_ids()  # names unchanged


def test_accept_drift_cuts_over_and_records_the_decision(migrated: Migrated):
    m = migrated
    m.psql(
        m.source,
        "INSERT INTO type_zoo (id, doc, docb, tags, happened, label) VALUES (999999, '{}', '{}', "
        "'{}', now(), 'after the snapshot')",
    )
    result = cutover(m).run(m.run_id, dns(m, accept_drift=True))
    c = result.record.cutover
    assert c["state"] == "done" and c["drift"]["accepted"] is True
    assert any("type_zoo" in t for t in c["drift"]["stale"])


def test_postpone_flag_holds_the_cutover_until_removed(migrated: Migrated, tmp_path: Path):
    m = migrated
    flag = tmp_path / "hold"
    flag.write_text("")
    said: list[str] = []

    class Clock:
        sleeps = 0

        def monotonic(self) -> float:
            import time

            return time.monotonic()

        def sleep(self, seconds: float) -> None:
            self.sleeps += 1
            assert not frozen(m, m.source), "frozen while postponed"
            if self.sleeps == 3:
                flag.unlink()

    clock = Clock()
    result = Cutover(
        m.lab.clients(),
        m.journal,
        connect_map=str(m.lab.connect_map_path),
        clock=clock,
        say=said.append,
    ).run(m.run_id, dns(m, postpone_flag=str(flag)))
    assert clock.sleeps >= 3 and any("postponed" in line for line in said)
    assert result.record.cutover["state"] == "done"


def test_guardrail_blocks_on_a_long_transaction_and_changes_nothing(migrated: Migrated):
    import time

    import psycopg

    m = migrated
    ep = m.endpoint(m.source)
    holder = psycopg.connect(**ep.connect_kwargs("app", m.connect_map))
    holder.execute("SELECT 1")
    time.sleep(1.2)
    try:
        with pytest.raises(PreflightBlocked, match="long transactions"):
            cutover(m).run(m.run_id, dns(m, long_transaction_s=1))
    finally:
        holder.close()
    assert not frozen(m, m.source)
    assert m.record_value() == m.source_endpoint
    c = m.journal.load(m.run_id).cutover
    assert c["state"] == "blocked" and not c.get("freeze")


def test_prepare_lowers_the_ttl_waits_one_old_ttl_and_changes_nothing_else(migrated: Migrated):
    from snapmigrate.cutover import prepare_dns

    m = migrated
    r53 = m.lab.client("route53")
    r53.change_resource_record_sets(
        HostedZoneId=m.zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": m.record,
                        "Type": "CNAME",
                        "TTL": 300,
                        "ResourceRecords": [{"Value": m.source_endpoint}],
                    },
                }
            ]
        },
    )
    slept: list[float] = []

    class Clock:
        def monotonic(self) -> float:
            return sum(slept)

        def sleep(self, seconds: float) -> None:
            slept.append(seconds)

    done = prepare_dns(cutover(m, clock=Clock()), m.run_id, dns(m), ttl=5)
    assert (done.old_ttl, done.new_ttl) == (300, 5) and 300 in slept
    ttl = next(
        r["TTL"]
        for r in r53.list_resource_record_sets(HostedZoneId=m.zone_id)["ResourceRecordSets"]
        if r["Type"] == "CNAME"
    )
    assert ttl == 5 and m.record_value() == m.source_endpoint and not frozen(m, m.source)
    assert m.journal.load(m.run_id).cutover["prepared"]["record"]["ttl"] == 300
    again = prepare_dns(cutover(m, clock=Clock()), m.run_id, dns(m), ttl=5)
    assert again.to_dict()["notes"] == ["TTL already 5 s: nothing to do"]

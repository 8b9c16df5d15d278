"""The clone's options, preflight and restore request -- pure: records in, records out."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from snapmigrate.clone.options import check_options, parse_acu
from snapmigrate.clone.restore import request
from snapmigrate.clone.spec import Basis, Quota, fail_if_blocked, owner_tag, preflight
from snapmigrate.errors import BadInput, PreflightBlocked
from snapmigrate.model import Instance, Snapshot, SourceCluster
from snapmigrate.plan.facts import facts_from_table

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SOURCE = SourceCluster(
    identifier="prod",
    arn="arn:aws:rds:us-east-1:123456789012:cluster:prod",
    engine="aurora-postgresql",
    engine_version="15.4",
    engine_mode="provisioned",
    status="available",
    subnet_group="private",
    security_group_ids=("sg-1",),
    instances=(Instance("prod-1", "db.r6g.large", "us-east-1a", True, "available"),),
)


def basis(**changes: object) -> Basis:
    found = Basis(
        source=SOURCE,
        facts=facts_from_table("aurora-postgresql", "15.4"),
        region="us-east-1",
        now=NOW,
        owner="arn:aws:sts::123456789012:assumed-role/Dev/alice@example.com",
        quotas=(Quota("DBClusters", 3, 40), Quota("DBInstances", 5, 40)),
    )
    return replace(found, **changes)  # type: ignore[arg-type]


def plan(b: Basis | None = None, **options: object):  # type: ignore[no-untyped-def]
    opts = check_options("prod", "qa", **options)  # type: ignore[arg-type]
    return preflight(opts, b or basis(), "0123abcd")


def codes(findings, level: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [f.code for f in findings if f.level == level]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "copy"}, "--method must be one of"),
        ({"method": "cow", "restore_time": "2026-03-01T10:00:00Z"}, "goes with --method pitr"),
        ({"method": "pitr", "restore_time": "2026-03-01T10:00:00"}, "has no zone"),
        ({"method": "pitr", "restore_time": "x", "latest": True}, "not both"),
        ({"snapshot": "snap-1"}, "--snapshot goes with --method snapshot"),
        ({"method": "snapshot", "latest": True}, "--latest goes with"),
        ({"readers": 16}, "out of range"),
        ({"ttl": "0s"}, "too short"),
        ({"acu": "4-1"}, "minimum is above the maximum"),
        ({"acu": "0.25-4"}, "not a multiple of 0.5"),
        ({"acu": "0-300"}, "256 ACU at most"),
    ],
)
def test_bad_flags_are_refused_before_any_aws_call(kwargs: dict, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        check_options("prod", "qa", **kwargs)


def test_names_follow_rds_rules() -> None:
    with pytest.raises(BadInput, match="must start with a letter"):
        check_options("prod", "1qa")
    with pytest.raises(BadInput, match="must differ from SOURCE"):
        check_options("prod", "PROD")
    with pytest.raises(BadInput, match="at most 53"):
        check_options("prod", "q" * 54)
    assert parse_acu("0.5-4").max == 4


def test_a_default_clone_is_cow_of_the_latest_data_tagged_and_disposable() -> None:
    spec, findings = plan()
    assert codes(findings, "block") == [] and spec.method == "cow"
    assert spec.scaling.min_capacity == 0.5 and spec.scaling.max_capacity == 4  # 15.4 can't pause
    assert spec.tags["snapmigrate:kind"] == "clone"
    assert spec.tags["snapmigrate:final-snapshot"] == "no"
    assert spec.tags["snapmigrate:expires-at"] == "2026-03-02T12:00:00+00:00"  # 24 h
    assert spec.tags["snapmigrate:owner"].endswith("assumed-role/Dev/alice@example.com")
    assert spec.restore_time == "2026-03-01T12:00:00+00:00" and spec.latest
    assert [i.identifier for i in spec.instances] == ["qa-writer"]
    operation, api = request(spec)
    assert operation == "restore_db_cluster_to_point_in_time"
    assert api["RestoreType"] == "copy-on-write" and api["UseLatestRestorableTime"] is True
    assert "RestoreToTime" not in api and api["SourceDBClusterIdentifier"] == "prod"
    assert api["ServerlessV2ScalingConfiguration"] == {"MinCapacity": 0.5, "MaxCapacity": 4.0}
    assert api["VpcSecurityGroupIds"] == ["sg-1"] and api["DBSubnetGroupName"] == "private"
    assert api["DeletionProtection"] is False


def test_a_version_that_pauses_gets_a_zero_minimum() -> None:
    b = basis(facts=facts_from_table("aurora-postgresql", "16.3"))
    spec, _ = plan(b)
    assert spec.scaling.min_capacity == 0 and spec.scaling.seconds_until_auto_pause == 300
    _, findings = plan(ttl="90s", acu="0-8")
    assert "clone-acu" in codes(findings, "block")  # 15.4 cannot pause


def test_point_in_time_and_snapshot_requests() -> None:
    spec, _ = plan(method="pitr", restore_time="2026-03-01T11:00:00Z")
    op, api = request(spec)
    assert api["RestoreType"] == "full-copy" and api["RestoreToTime"] == NOW - timedelta(hours=1)
    assert "UseLatestRestorableTime" not in api
    latest = replace(basis(), latest_restorable=NOW - timedelta(minutes=3))
    spec, _ = plan(latest, method="pitr")
    assert request(spec)[1]["UseLatestRestorableTime"] is True
    assert spec.restore_time == "2026-03-01T11:57:00+00:00"
    snap = Snapshot("s1", "arn", "prod", "aurora-postgresql", "15.4", "available", created="T0")
    spec, _ = plan(basis(snapshot=snap), method="snapshot")
    op, api = request(spec)
    assert op == "restore_db_cluster_from_snapshot" and api["SnapshotIdentifier"] == "s1"
    assert api["EngineMode"] == "provisioned" and spec.restore_time == "T0"
    assert spec.tags["snapmigrate:snapshot"] == "s1"


@pytest.mark.parametrize(
    ("b", "options", "code", "exit_code"),
    [
        (basis(source=replace(SOURCE, instances=())), {}, "clone-method", 4),
        (basis(source=replace(SOURCE, engine_mode="serverless")), {}, "clone-method", 4),
        (basis(source=replace(SOURCE, status="modifying")), {}, "clone-source", 4),
        (basis(name_taken={"team": "x"}), {}, "clone-name", 2),
        (basis(quotas=(Quota("DBClusters", 40, 40),)), {}, "clone-quota", 4),
        (basis(snapshot=None), {"method": "snapshot"}, "clone-snapshot", 2),
        (
            basis(
                earliest_restorable=NOW - timedelta(days=1),
                latest_restorable=NOW - timedelta(minutes=5),
            ),
            {"method": "pitr", "restore_time": "2026-02-01T00:00:00Z"},
            "clone-restore-time",
            2,
        ),
    ],
)
def test_the_preflight_blocks_with_the_documented_exit_code(
    b: Basis, options: dict, code: str, exit_code: int
) -> None:
    _, findings = plan(b, **options)
    assert code in codes(findings, "block")
    with pytest.raises(BadInput if exit_code == 2 else PreflightBlocked) as caught:
        fail_if_blocked(findings)
    assert caught.value.exit_code == exit_code and "nothing was created" in str(caught.value)


def test_a_version_without_serverless_v2_is_blocked() -> None:
    old = facts_from_table("aurora-postgresql", "11.21")
    _, findings = plan(basis(facts=old))
    assert "clone-engine" in codes(findings, "block")


def test_quota_headroom_is_named_when_close_and_unknown_quotas_are_said() -> None:
    _, findings = plan(basis(quotas=(Quota("DBClusters", 37, 40),)), readers=2)
    warned = [f.message for f in findings if f.code == "clone-quota" and f.level == "warn"]
    assert warned == ["DBClusters: 37 of 40 used in us-east-1; this clone leaves 2"]
    _, findings = plan(basis(quotas=(), quota_note="not implemented by this endpoint"))
    assert any("quotas unknown (not implemented" in f.message for f in findings)


def test_an_owner_arn_is_made_fit_for_a_tag() -> None:
    assert owner_tag("arn:aws:sts::1:assumed-role/R/a,b") == "arn:aws:sts::1:assumed-role/R/a_b"
    assert len(owner_tag("x" * 300)) == 256

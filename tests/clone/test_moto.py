"""The clone's control plane on moto in-process: what is sent, what is refused
before any change, what a failure leaves (nothing), the lease commands, gc on
an injected clock, the CLI's exit codes. (--no-connect: moto has no databases.)"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest
from click.testing import CliRunner

from snapmigrate import commands
from snapmigrate.aws import Clients
from snapmigrate.cli import AppContext, cli
from snapmigrate.clone.context import CloneSettings
from snapmigrate.clone.journal import clones_journal
from snapmigrate.commands import Config
from snapmigrate.errors import BadInput, Interrupted, NotFound, OperationFailed, PreflightBlocked
from tests.conftest import CallRecorder

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FAST = CloneSettings(connect=False, first_delay_s=0.01, max_delay_s=0.02, timeout_s=5)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def prod(recorded: tuple[Clients, CallRecorder]) -> tuple[Clients, CallRecorder]:
    clients, _ = recorded
    rds = clients.rds()
    rds.create_db_cluster(
        DBClusterIdentifier="prod",
        Engine="aurora-postgresql",
        EngineVersion="15.4",
        MasterUsername="postgres",
        MasterUserPassword="pw-123456789",
        DatabaseName="app",
    )
    rds.create_db_instance(
        DBInstanceIdentifier="prod-1",
        DBClusterIdentifier="prod",
        Engine="aurora-postgresql",
        DBInstanceClass="db.r6g.large",
    )
    return recorded


@pytest.fixture
def config(prod: tuple[Clients, CallRecorder], tmp_path: Path, clock: Clock) -> Config:
    return Config(_clients=prod[0], state_dir=str(tmp_path / "state"), now=clock)


def calls_after(recorder: CallRecorder, mark: int) -> list[str]:
    return [
        c
        for c in recorder.calls[mark:]
        if c.startswith(("Create", "Delete", "Restore", "Add", "Remove", "Modify"))
    ]


def cluster(clients: Clients, name: str) -> dict[str, Any] | None:
    found = [
        c
        for c in clients.rds().describe_db_clusters()["DBClusters"]
        if c["DBClusterIdentifier"] == name
    ]
    return found[0] if found else None


def tags(clients: Clients, name: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in (cluster(clients, name) or {}).get("TagList", [])}


def test_create_clones_copy_on_write_then_adds_a_db_serverless_writer(config: Config, prod) -> None:
    clients, recorder = prod
    mark = len(recorder.calls)
    made = commands.clone_create(config, "prod", "qa", ttl="8h", settings=FAST)
    assert calls_after(recorder, mark) == [
        "RestoreDBClusterToPointInTime",
        "CreateDBInstance",
        "AddTagsToResource",
    ]
    found = tags(clients, "qa")
    assert found["snapmigrate:kind"] == "clone" and found["snapmigrate:source"] == "prod"
    assert found["snapmigrate:expires-at"] == "2026-03-01T20:00:00+00:00"
    assert (
        found["snapmigrate:final-snapshot"] == "no" and found["snapmigrate:clone-state"] == "ready"
    )
    assert found["snapmigrate:owner"] == "arn:aws:sts::123456789012:user/moto"
    writer = clients.rds().describe_db_instances(DBInstanceIdentifier="qa-writer")["DBInstances"][0]
    assert writer["DBInstanceClass"] == "db.serverless" and writer["DBClusterIdentifier"] == "qa"
    assert (cluster(clients, "qa") or {})["ServerlessV2ScalingConfiguration"]["MinCapacity"] == 0.5
    data = made.to_dict()
    assert data["clone"]["expires_at"] == "2026-03-01T20:00:00+00:00" and data["mask"] is None
    assert data["timings"]["first_query_s"] is None  # --no-connect: no query was made
    assert made.clone.psql().startswith('psql "host=qa.cluster-')
    (run,) = clones_journal(config.state_dir).runs()
    assert run.state == "done" and [s.state for s in run.steps] == ["done", "done"]


def test_refusals_change_nothing(config: Config, prod, tmp_path: Path) -> None:
    clients, recorder = prod
    clients.rds().create_db_cluster(
        DBClusterIdentifier="legacy",
        Engine="aurora-postgresql",
        EngineVersion="13.12",
        EngineMode="serverless",
        MasterUsername="postgres",
        MasterUserPassword="pw-123456789",
    )
    mark = len(recorder.calls)
    with pytest.raises(NotFound):
        commands.clone_create(config, "nowhere", "qa", settings=FAST)
    with pytest.raises(BadInput, match="taken by a cluster"):
        commands.clone_create(config, "legacy", "prod", settings=FAST)
    with pytest.raises(PreflightBlocked, match="Aurora Serverless v1"):
        commands.clone_create(config, "legacy", "qa", settings=FAST)
    with pytest.raises(BadInput, match="drop --no-connect"):
        rules = tmp_path / "r.toml"
        rules.write_text('[[empty]]\ntable = "audit_log"\n')
        commands.clone_create(config, "prod", "qa", mask=str(rules), settings=FAST)
    with pytest.raises(BadInput, match="cannot read the mask rules"):
        commands.clone_create(config, "prod", "qa", mask=str(tmp_path / "none.toml"), settings=FAST)
    with pytest.raises(BadInput, match="not created: nothing was changed"):
        commands.clone_create(config, "prod", "qa", settings=FAST, confirm=lambda q: False)
    assert calls_after(recorder, mark) == []


def test_a_failure_once_the_clone_exists_destroys_it(config: Config, prod) -> None:
    clients, _recorder = prod

    def no_capacity(**_: Any) -> None:
        raise botocore.exceptions.ClientError(
            {"Error": {"Code": "InsufficientDBInstanceCapacity", "Message": "none left"}},
            "CreateDBInstance",
        )

    clients.rds().meta.events.register("before-call.rds.CreateDBInstance", no_capacity)
    with pytest.raises(OperationFailed, match="none left") as caught:
        commands.clone_create(config, "prod", "qa", settings=FAST)
    assert cluster(clients, "qa") is None
    assert "destroyed qa" in str(caught.value)
    (run,) = clones_journal(config.state_dir).runs()
    assert run.state == "failed" and any("destroyed qa" in e["message"] for e in run.events)


def test_ctrl_c_once_the_clone_exists_destroys_it_too(config: Config, prod) -> None:
    clients, _ = prod

    def interrupt(**_: Any) -> None:
        raise KeyboardInterrupt

    clients.rds().meta.events.register("before-call.rds.CreateDBInstance", interrupt)
    with pytest.raises(Interrupted, match="interrupted: destroyed qa") as caught:
        commands.clone_create(config, "prod", "qa", settings=FAST)
    assert caught.value.exit_code == 130 and cluster(clients, "qa") is None


def test_point_in_time_and_snapshot_requests_reach_aws(config: Config, prod) -> None:
    clients, _ = prod
    sent: list[dict[str, Any]] = []
    clients.rds().meta.events.register(
        "provide-client-params.rds.RestoreDBClusterToPointInTime",
        lambda params, **_: sent.append(dict(params)),
    )
    prod_cluster = cluster(clients, "prod") or {}
    latest = prod_cluster["LatestRestorableTime"].astimezone(UTC)
    when = latest.replace(microsecond=0).isoformat()
    config.now = lambda: latest + timedelta(seconds=1)
    made = commands.clone_create(
        config, "prod", "qa", method="pitr", restore_time=when, settings=FAST
    )
    assert sent[-1]["RestoreType"] == "full-copy" and "RestoreToTime" in sent[-1]
    assert made.clone.method == "pitr" and made.clone.restore_time == when.replace("Z", "+00:00")
    made = commands.clone_create(config, "prod", "qa-snap", method="snapshot", settings=FAST)
    assert made.clone.method == "snapshot"
    assert tags(clients, "qa-snap")["snapmigrate:snapshot"].startswith("rds:prod-")


def test_list_extend_protect_unprotect_and_owners(config: Config, prod, clock: Clock) -> None:
    clients, _ = prod
    commands.clone_create(config, "prod", "qa", ttl="1h", settings=FAST)
    listed = commands.clone_list(config).to_dict()["clones"]
    assert [c["name"] for c in listed] == ["qa"] and listed[0]["status"] == "available"
    clock.now = START + timedelta(minutes=30)
    assert commands.clone_list(config).clones[0].age_s == 1800
    answer = commands.clone_extend(config, "qa", "2d").to_dict()["clone"]
    assert answer["expires_at"] == "2026-03-03T12:30:00+00:00"
    assert commands.clone_protect(config, "qa", "2026-03-10T00:00:00Z").clone.protected_until == (
        "2026-03-10T00:00:00+00:00"
    )
    assert commands.clone_unprotect(config, "qa").clone.protected_until is None
    arn = (cluster(clients, "qa") or {})["DBClusterArn"]
    clients.rds().add_tags_to_resource(
        ResourceName=arn, Tags=[{"Key": "snapmigrate:owner", "Value": "arn:aws:iam::1:user/bob"}]
    )
    assert commands.clone_list(config).clones == ()
    assert [c.name for c in commands.clone_list(config, all_owners=True).clones] == ["qa"]
    assert commands.clone_list(config, all_owners=True, source="other").clones == ()
    for command in (commands.clone_extend, commands.clone_protect):
        with pytest.raises(BadInput, match="not a snapmigrate clone"):
            command(config, "prod", "1h")
    with pytest.raises(BadInput, match="not a snapmigrate clone"):
        commands.clone_unprotect(config, "prod")


def test_destroy_deletes_instances_then_the_cluster_without_a_final_snapshot(
    config: Config, prod
) -> None:
    clients, recorder = prod
    commands.clone_create(config, "prod", "qa", readers=1, settings=FAST)
    sent: list[dict[str, Any]] = []
    clients.rds().meta.events.register(
        "provide-client-params.rds.DeleteDBCluster", lambda params, **_: sent.append(dict(params))
    )
    mark = len(recorder.calls)
    assert commands.clone_destroy(config, "qa", settings=FAST).to_dict() == {"destroyed": ["qa"]}
    assert calls_after(recorder, mark) == [
        "DeleteDBInstance",
        "DeleteDBInstance",
        "DeleteDBCluster",
    ]
    assert sent == [
        {"DBClusterIdentifier": "qa", "DeleteAutomatedBackups": True, "SkipFinalSnapshot": True}
    ]
    assert cluster(clients, "qa") is None
    (run,) = clones_journal(config.state_dir).runs()
    assert run.state == "cleaned" and "destroyed (clone destroy)" in run.events[-1]["message"]


def test_a_clone_no_longer_declared_disposable_keeps_a_final_snapshot(config: Config, prod) -> None:
    clients, _ = prod
    commands.clone_create(config, "prod", "qa", settings=FAST)
    arn = (cluster(clients, "qa") or {})["DBClusterArn"]
    clients.rds().remove_tags_from_resource(
        ResourceName=arn, TagKeys=["snapmigrate:final-snapshot"]
    )
    commands.clone_destroy(config, "qa", settings=FAST)
    snaps = clients.rds().describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
    assert [s["DBClusterSnapshotIdentifier"] for s in snaps] == ["qa-final-20260301t120000"]


def test_gc_on_an_injected_clock(config: Config, prod, clock: Clock) -> None:
    clients, _ = prod
    commands.clone_create(config, "prod", "short", ttl="1h", settings=FAST)
    commands.clone_create(config, "prod", "guarded", ttl="1h", settings=FAST)
    commands.clone_create(config, "prod", "long", ttl="1d", settings=FAST)
    commands.clone_protect(config, "guarded", "3h")
    clock.now = START + timedelta(minutes=59)
    assert commands.clone_gc(config, settings=FAST).destroyed == ()
    clock.now = START + timedelta(minutes=61)
    dry = commands.clone_gc(config, dry_run=True, settings=FAST)
    assert dry.to_dict()["destroyed"] == ["short"] and dry.dry_run
    assert cluster(clients, "short") is not None  # a dry run changes nothing
    with pytest.raises(BadInput, match="not collected"):
        commands.clone_gc(config, confirm=lambda q: False, settings=FAST)
    done = commands.clone_gc(config, settings=FAST).to_dict()
    assert done["destroyed"] == ["short"] and done["dry_run"] is False
    assert {k["name"] for k in done["kept"]} == {"guarded", "long"}
    assert cluster(clients, "short") is None and cluster(clients, "prod") is not None


def invoke(clients: Clients, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), obj=AppContext(_clients=clients))
    return result.exit_code, result.stdout if result.exit_code == 0 else result.output


def test_cli_exit_codes_and_json(prod, tmp_path: Path) -> None:
    clients, recorder = prod
    state = ["--state-dir", str(tmp_path / "state")]
    mark = len(recorder.calls)
    code, out = invoke(clients, "clone", "create", "prod", "--name", "qa", "--no-connect", *state)
    assert code == 2 and "pass --yes" in out and calls_after(recorder, mark) == []
    code, out = invoke(clients, "clone", "create", "prod", "--name", "qa", "--ttl", "2w", *state)
    assert code == 2 and "not a duration" in out
    code, out = invoke(
        clients,
        "-o",
        "json",
        "clone",
        "create",
        "prod",
        "--name",
        "qa",
        "--no-connect",
        "--yes",
        *state,
    )
    assert code == 0, out
    assert set(json.loads(out)) == {"clone", "timings", "mask", "run_id"}
    code, out = invoke(clients, "clone", "list", *state)
    assert code == 0 and "qa" in out and "prod" in out
    code, out = invoke(clients, "clone", "destroy", "prod", "--yes", *state)
    assert code == 2 and "not a snapmigrate clone" in out
    code, out = invoke(clients, "-o", "json", "clone", "gc", "--dry-run", *state)
    assert code == 0 and json.loads(out) == {
        "destroyed": [],
        "kept": [{"name": "qa", "why": json.loads(out)["kept"][0]["why"]}],
        "dry_run": True,
    }
    code, out = invoke(clients, "clone", "destroy", "qa", "--yes", *state)
    assert code == 0 and "Destroyed: qa" in out


def test_status_cleanup_migrate_and_permissions_know_clones(
    config: Config, prod, tmp_path: Path
) -> None:
    clients, recorder = prod
    made = commands.clone_create(config, "prod", "qa", settings=FAST)
    state = ["--state-dir", str(config.state_dir)]
    code, out = invoke(clients, "-o", "json", "status", *state)
    assert code == 0 and [c["clone"] for c in json.loads(out)["clones"]] == ["qa"]
    code, out = invoke(clients, "status", made.run_id or "", *state)
    assert code == 0 and f"Clone run {made.run_id}: prod -> qa  state done" in out
    mark = len(recorder.calls)
    code, out = invoke(clients, "cleanup", made.run_id or "", "--yes", *state)
    assert code == 2 and "snapmigrate clone destroy qa" in out
    assert calls_after(recorder, mark) == [] and cluster(clients, "qa") is not None
    code, out = invoke(clients, "-o", "json", "plan", "qa", "--target", "qa-v2")
    findings = {f["code"]: f for f in json.loads(out)["findings"]}
    assert findings["source-is-clone"]["level"] == "warn"
    assert "snapmigrate clone protect qa" in findings["source-is-clone"]["message"]
    code, out = invoke(clients, "plan", "prod", "--target", "qa")
    assert code == 2 and "qa is a snapmigrate clone: choose another --target" in out
    code, out = invoke(clients, "-o", "json", "permissions", "--command", "clone")
    actions = {a for s in json.loads(out)["Statement"] for a in s["Action"]}
    assert {
        "rds:RestoreDBClusterToPointInTime",
        "rds:DeleteDBCluster",
        "rds:AddTagsToResource",
    } <= actions


def test_reset_never_makes_a_masked_clone_unmasked(config: Config, prod, tmp_path: Path) -> None:
    """Without the clone's own rules (kept at create, digest in its tag) reset changes nothing."""
    clients, recorder = prod
    commands.clone_create(config, "prod", "qa", settings=FAST)
    arn = (cluster(clients, "qa") or {})["DBClusterArn"]
    clients.rds().add_tags_to_resource(
        ResourceName=arn, Tags=[{"Key": "snapmigrate:mask", "Value": "0123456789abcdef"}]
    )
    mark = len(recorder.calls)
    with pytest.raises(BadInput, match=r"was masked \(rules 0123456789abcdef\).*--mask"):
        commands.clone_reset(config, "qa", settings=FAST)
    kept = clones_journal(config.state_dir).directory / "qa.mask.toml"
    kept.write_text('[[empty]]\ntable = "audit_log"\n')
    with pytest.raises(BadInput, match="but clone qa was masked with 0123456789abcdef"):
        commands.clone_reset(config, "qa", settings=FAST)
    with pytest.raises(BadInput, match="in the future"):
        commands.clone_reset(config, "qa", "2099-01-01T00:00:00Z", settings=FAST)
    with pytest.raises(BadInput, match="not a snapmigrate clone"):
        commands.clone_reset(config, "prod", settings=FAST)
    assert calls_after(recorder, mark) == [] and cluster(clients, "qa") is not None

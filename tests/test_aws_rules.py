"""The pure decisions behind AWS's documented rules (issue #10): failure states,
waiting out a busy resource, final snapshots, what is live, upgrade targets from
the API, the managed secret, the rename's warnings, the facts table. No AWS
(fake status readers and clocks); the same rules against the lab are in
tests/migrate/test_aws_rules_lab.py."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from botocore.exceptions import ClientError

from snapmigrate.aws import Aws, AwsSettings, Clients, rds, states
from snapmigrate.aws.call import StateWait
from snapmigrate.commands.migration import refuse_live
from snapmigrate.cutover import guardrails
from snapmigrate.cutover.state import CutoverState, PhaseRecord
from snapmigrate.db.freeze import FreezeRecord
from snapmigrate.errors import BadInput, NotFound, OperationFailed
from snapmigrate.migrate import build
from snapmigrate.migrate.settings import SettingsInputs, missing
from snapmigrate.model import Plan
from snapmigrate.plan import facts
from snapmigrate.plan.versions import EngineCatalog, VersionInfo, choose, facts_for
from snapmigrate.workflow.journal import RunRecord
from tests.test_preflight import run as plan_spec
from tests.test_preflight import v1_source

TODAY = date(2026, 11, 27)


def fault(code: str, operation: str = "ModifyDBCluster") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "busy"}, "ResponseMetadata": {"HTTPStatusCode": 400}},
        operation,
    )


def calls_answering(*answers: Any) -> Any:
    it = iter(answers)

    def call(**_: Any) -> Any:
        answer = next(it)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    return call


def aws_reading(*statuses: str | None) -> tuple[Aws, list[float]]:
    """An :class:`Aws` whose status reads answer ``statuses`` in turn; its sleeps."""
    seen = iter(statuses)
    slept: list[float] = []
    aws = Aws(
        Clients(AwsSettings(region="us-east-1")),
        sleep=slept.append,
        state_wait=StateWait(max_wait_s=120, first_delay_s=5, max_delay_s=30),
        read_status=lambda kind, identifier: next(seen),
    )
    return aws, slept


# -- failure states end a wait at once ------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("cluster", "migration-failed"),
        ("cluster", "cloning-failed"),
        ("cluster", "inaccessible-encryption-credentials-recoverable"),
        ("cluster", "upgrade_failed"),
        ("cluster", "upgrade-failed"),
        ("instance", "insufficient-capacity"),
        ("instance", "incompatible-create"),
        ("instance", "restore-error"),
        ("instance", "storage-full"),
    ],
)
def test_documented_failure_states_end_a_wait_with_awss_words(kind, status):
    key = "DBInstanceStatus" if kind == "instance" else "Status"
    seen = rds.availability({key: status}, kind, status_key=key)
    assert seen.failed and status in seen.failed and states.failure(kind, status) in seen.failed
    assert not states.transitional(kind, status)


def test_transitional_states_are_waited_for_and_at_rest_ones_are_not():
    for status in ("creating", "modifying", "upgrading", "backing-up", "renaming"):
        assert states.transitional("cluster", status)
        assert rds.cluster_status({"Status": status}).failed is None
    assert not states.transitional("cluster", "available")
    assert not states.transitional("cluster", "stopped")
    # migration-failed is a cluster state only: an instance in it is just not done
    assert states.failure("instance", "migration-failed") is None


# -- a busy resource: wait, then retry (bounded) -------------------------------------------


def test_a_state_fault_on_a_busy_cluster_waits_then_retries():
    aws, slept = aws_reading("modifying", "modifying", "available")
    call = calls_answering(fault("InvalidResourceStateFault"), {"ok": True})
    arn = "arn:aws:rds:us-east-1:1:cluster:fresh"
    assert aws.call("enable the Data API", call, ResourceArn=arn) == {"ok": True}
    assert slept == [5, 10]


def test_a_state_fault_on_a_cluster_at_rest_is_an_error_at_once():
    aws, slept = aws_reading("available")
    call = calls_answering(fault("InvalidDBClusterStateFault", "CreateDBInstance"))
    with pytest.raises(OperationFailed, match="InvalidDBClusterStateFault"):
        aws.call("create instance", call, DBClusterIdentifier="fresh", DBInstanceIdentifier="w")
    assert slept == []


def test_a_resource_that_stays_busy_gives_up_after_the_bound():
    aws, slept = aws_reading(*["upgrading"] * 20)
    call = calls_answering(fault("InvalidDBClusterStateFault"))
    with pytest.raises(OperationFailed, match="stayed upgrading for 120 s"):
        aws.call("modify fresh", call, DBClusterIdentifier="fresh")
    assert sum(slept) == 120


def test_the_fault_names_which_resource_is_busy():
    params = {"DBClusterIdentifier": "c", "DBInstanceIdentifier": "i", "SnapshotIdentifier": "s"}
    assert states.named_resource("InvalidDBClusterStateFault", params) == ("cluster", "c")
    assert states.named_resource("InvalidDBInstanceState", params) == ("instance", "i")
    assert states.named_resource("InvalidDBClusterSnapshotStateFault", params) == ("snapshot", "s")
    arn = {"ResourceArn": "arn:aws:rds:eu-west-1:1:cluster:x"}
    assert states.named_resource("InvalidResourceStateFault", arn) == ("cluster", "x")
    assert states.named_resource("Throttling", params) is None


def test_enable_http_endpoints_not_found_and_kms_access_are_told_apart():
    aws, _ = aws_reading()
    with pytest.raises(NotFound):
        aws.call("enable the Data API", calls_answering(fault("ResourceNotFoundFault")))
    with pytest.raises(OperationFailed) as err:
        aws.call("restore", calls_answering(fault("KMSKeyNotAccessibleFault")))
    assert not isinstance(err.value, NotFound) and "could not use the KMS key" in str(err.value)


# -- deletion: a final snapshot unless declared otherwise ---------------------------------


def cluster(status: str = "available", **tags: str) -> dict[str, Any]:
    tag_list = [{"Key": k.replace("_", ":"), "Value": v} for k, v in tags.items()]
    return {"DBClusterIdentifier": "fresh", "Status": status, "TagList": tag_list}


def test_a_cluster_is_deleted_after_a_final_snapshot_unless_declared_otherwise():
    kept = rds.deletion_for(cluster(), "r1", skip_final_snapshot=False)
    assert kept.final_snapshot == "fresh-final-r1" and "final snapshot" in kept.note
    skipped = rds.deletion_for(cluster(), "r1", skip_final_snapshot=True)
    assert skipped.final_snapshot is None and "--skip-final-snapshot" in skipped.note
    disposable = rds.deletion_for(
        cluster(**{"snapmigrate_final-snapshot": "no"}), "r1", skip_final_snapshot=False
    )
    assert disposable.final_snapshot is None and "disposable" in disposable.note
    assert rds.disposable_tags() == [{"Key": "snapmigrate:final-snapshot", "Value": "no"}]
    failed = rds.deletion_for(cluster("migration-failed"), "r1", skip_final_snapshot=False)
    assert failed.final_snapshot is None and "migration-failed" in failed.note


# -- cleanup never deletes what is live ------------------------------------------------------


def record(cutover: CutoverState) -> RunRecord:
    spec, _, findings = plan_spec(cutover="rename")
    plan = Plan(v1_source(), spec, findings, build(spec, v1_source()))
    return RunRecord(
        run_id="r1",
        state="done",
        source="legacy",
        target="fresh",
        created="t",
        updated="t",
        steps=(),
        plan=plan.to_dict(),
        cutover=cutover.to_dict(),
    )


def test_cleanup_refuses_a_target_that_is_live_and_names_it():
    done = CutoverState(mode="rename", state="done", finished="2026-11-27T10:00:00")
    with pytest.raises(BadInput) as err:
        refuse_live(record(done))
    assert "fresh now carries the name legacy" in str(err.value)
    assert "snapmigrate rollback r1" in str(err.value) and err.value.exit_code == 2
    frozen = FreezeRecord((), 0, "2026-11-27T10:00:00")
    half_way = CutoverState(
        mode="rename", state="interrupted", freeze=frozen, phases=(PhaseRecord("swap"),)
    )
    with pytest.raises(BadInput, match="unfinished cutover"):
        refuse_live(record(half_way))
    refuse_live(record(CutoverState(mode="rename", state="rolled-back")))
    refuse_live(record(CutoverState(mode="rename", state="blocked")))
    refuse_live(record(CutoverState()))


# -- versions: what AWS offers first ----------------------------------------------------------


def catalog(**targets: tuple[str, ...]) -> EngineCatalog:
    """A catalog of versions (v2 from 13.6 as AWS has it) with the given upgrade targets."""
    names = {"11.17", "11.21", "13.7", "13.8", "13.12", "16.3", "16.8", "17.4", "17.7", "12.22"}
    versions = {
        v: VersionInfo(
            v,
            serverless_v2=facts.supports_v2(facts.POSTGRES, v),
            min_capacity=0.5,
            max_capacity=256,
            family=f"aurora-postgresql{facts.major(v)}",
            targets=targets.get(f"v{v.replace('.', '_')}", ()),
        )
        for v in names
    }
    support = {11: ("2024-02-29", "2027-03-31"), 16: ("2029-02-28", "2032-02-28")}
    support |= {17: ("2030-02-28", "2033-02-28"), 13: ("2026-02-28", "2029-02-28")}
    return EngineCatalog(facts.POSTGRES, versions, support)


def test_the_upgrade_target_is_the_newest_supported_major_aws_offers():
    offered = catalog(v11_17=("11.21", "12.22", "13.8", "16.3", "16.8", "17.4"))
    choice = choose(facts.POSTGRES, "11.17", None, offered, TODAY)
    assert (choice.restore_version, choice.version) == ("11.17", "17.4")
    assert choice.major_upgrade and "ValidUpgradeTarget of 11.17" in (choice.reason or "")
    assert "until 2030-02-28" in (choice.reason or "")
    # none in standard support any more: the newest offered, and the reason says so
    late = choose(facts.POSTGRES, "11.17", None, offered, date(2031, 6, 1))
    assert late.version == "17.4" and "none is still in standard support" in (late.reason or "")


def test_a_requested_version_aws_does_not_offer_is_bad_input_naming_what_it_offers():
    offered = catalog(v11_17=("11.21", "13.8", "16.3"))
    choice = choose(facts.POSTGRES, "11.17", "13.7", offered, TODAY)
    assert (
        choice.problem and "Cannot upgrade aurora-postgresql from 11.17 to 13.7" in choice.problem
    )
    assert "13.8" in choice.problem and "16.3" in choice.problem
    assert choose(facts.POSTGRES, "11.17", "16.3", offered, TODAY).problem is None


def test_without_the_api_the_table_chooses_and_says_so():
    choice = choose(facts.POSTGRES, "11.21", None, None, TODAY)
    assert choice.version == facts.LATEST_MINOR[facts.POSTGRES][18]
    assert "snapmigrate's table" in (choice.reason or "")


def test_serverless_v2_comes_from_the_api_record_when_there_is_one():
    offered = catalog()
    assert facts_for(offered, facts.POSTGRES, "13.12").source == "api"
    assert not facts_for(offered, facts.POSTGRES, "11.17").serverless_v2
    assert facts_for(None, facts.POSTGRES, "13.12").source == "table"


def test_the_facts_table_is_the_documentation_of_november_2026():
    latest = facts.LATEST_MINOR[facts.POSTGRES]
    assert latest == {
        11: "11.21", 12: "12.22", 13: "13.23", 14: "14.23",
        15: "15.18", 16: "16.14", 17: "17.10", 18: "18.4",
    }  # fmt: skip
    assert facts.SUPPORT_DATES[facts.POSTGRES][18] == ("2031-02-28", "2034-02-28")
    assert facts.SUPPORT_DATES[facts.POSTGRES][16] == ("2029-02-28", "2032-02-28")
    assert facts.supports_v2(facts.POSTGRES, "18.3") and not facts.supports_v2(
        facts.POSTGRES, "12.22"
    )
    assert {"eu-central-2", "us-gov-west-1", "ca-west-1"} <= facts.NO_DATA_API_REGIONS
    assert (facts.V1_END_OF_LIFE, facts.V1_NO_NEW_CLUSTERS) == ("2025-03-31", "2025-01-08")


def test_the_facts_table_agrees_with_the_labs_aws():
    """The lab plays AWS from the same documentation: its newest minors and support
    dates are the table's (the lab's engines.py is deliberately a separate table)."""
    from snapmigrate_lab import engines

    for major, version in facts.LATEST_MINOR[facts.POSTGRES].items():
        assert engines.newest_of_major(facts.POSTGRES, str(major)).version == version  # type: ignore[union-attr]
        _, standard, extended = engines.PG_LIFECYCLE[str(major)]
        assert facts.SUPPORT_DATES[facts.POSTGRES][major] == (standard, extended)


# -- the managed password and the rename's warnings -----------------------------------------


def test_the_managed_password_is_there_when_its_secret_is_active():
    wanted = SettingsInputs("fresh", manage_master_user_password=True)
    creating = {"MasterUserSecret": {"SecretArn": "arn:s", "SecretStatus": "creating"}}
    active = {"MasterUserSecret": {"SecretArn": "arn:s", "SecretStatus": "active"}}
    assert missing(wanted, creating) == ["managed-password"]
    assert missing(wanted, active) == []


def test_the_cutover_warns_about_the_new_password_and_what_a_rename_leaves_behind():
    password = guardrails.managed_password("postgres", "arn:new", "arn:old")
    assert password is not None and password.passed and password.warn
    assert "NEW password" in password.message and "arn:new" in password.message
    assert guardrails.managed_password("postgres", None, "arn:old") is None
    shared = guardrails.rename_sharing("legacy", ("share-1",), False)
    assert shared.passed and shared.warn and "share-1" in shared.message
    assert guardrails.rename_sharing("legacy", None, False).warn  # unknown: say so
    assert guardrails.rename_sharing("legacy", (), True).warn  # a cross-account clone
    assert not guardrails.rename_sharing("legacy", (), False).warn
    left = guardrails.left_behind("legacy", ["legacy-1"], ["legacy-reports.cluster-custom-x"])
    assert left.warn and "legacy-1" in left.message and "recreate them" in left.message
    assert not guardrails.left_behind("legacy", [], []).warn
    line = guardrails.line(shared)
    assert line.startswith("  WARN sharing")
    assert "1 warning(s)" in guardrails.verdict([shared, guardrails.left_behind("x", [], [])])

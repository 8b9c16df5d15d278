"""``snapmigrate permissions``: least privilege in fact -- no action that changes
something on ``"*"``, the resource types IAM asks for, names from the options or a
plan file, and a policy document IAM would take. Pure: no AWS."""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from snapmigrate import iam
from snapmigrate.cli import cli
from snapmigrate.cutover.steps import CUTOVER
from snapmigrate.cutover.swap import SWAPS
from snapmigrate.migrate import MIGRATION, cleanup
from snapmigrate.permissions import PLAN_PERMISSIONS, grants

ACCOUNT = "123456789012"
OPERATORS = {"Null", "StringLike", "StringEquals", "ForAllValues:StringEquals"}


def policy_of(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["permissions", *args, "-o", "json"])
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = document["Statement"]
    return found


def resources(statement: dict[str, Any]) -> list[str]:
    value = statement["Resource"]
    return [value] if isinstance(value, str) else list(value)


def allowed(
    document: dict[str, Any], action: str, arn: str, tags: dict[str, str] | None = None
) -> bool:
    """A small IAM evaluator for the statements snapmigrate writes: Allow only,
    wildcard resources, ``Null`` and ``StringEquals`` conditions on
    ``aws:RequestTag``/``aws:ResourceTag`` (``tags``: the request's or the resource's),
    other conditions (``kms:ViaService``, Route 53's record names) taken as met."""
    tags = tags or {}

    def met(condition: dict[str, Any]) -> bool:
        nulls = condition.get("Null", {})
        equal = condition.get("StringEquals", {})
        return all(
            (key.split("/", 1)[1] in tags) == (want == "false") for key, want in nulls.items()
        ) and all(tags.get(key.split("/", 1)[1]) == want for key, want in equal.items())

    for statement in statements(document):
        if action not in statement["Action"]:
            continue
        if not any(fnmatch.fnmatchcase(arn, pattern) for pattern in resources(statement)):
            continue
        if met(statement.get("Condition", {})):
            return True
    return False


SCOPES = [
    (),
    ("--iam-auth",),
    (
        "--source",
        "legacy-v1",
        "--target",
        "legacy-v2",
        "--dns-zone-id",
        "Z1",
        "--region",
        "eu-west-1",
    ),
    ("--kms-key-id", "arn:aws:kms:eu-west-1:123456789012:key/k-1"),
]


@pytest.mark.parametrize("args", SCOPES)
def test_no_action_that_changes_something_is_granted_on_everything(args):
    document = policy_of(*args)
    for statement in statements(document):
        if "*" in resources(statement):
            assert all(iam.is_read(a) for a in statement["Action"]), statement


def test_every_changing_action_of_every_step_has_its_resources():
    """A new step's mutating action needs a rule in snapmigrate/iam.py (else it gets
    only what the run tagged, which may not be what it touches)."""
    parts = [(g.command, g.part, a) for g in grants() for a in g.actions]
    assert len(parts) > 40
    assert [p for p in parts if iam.unscoped(*p)] == []
    declared = {a for s in (*MIGRATION.steps, *CUTOVER.steps) for a in s.permissions}
    declared |= {a for s in SWAPS.values() for a in s.permissions} | set(cleanup.PERMISSIONS)
    assert declared | set(PLAN_PERMISSIONS) <= {a for _, _, a in parts}


@pytest.mark.parametrize("args", SCOPES)
def test_the_document_is_a_policy_iam_takes(args):
    document = policy_of(*args)
    assert document["Version"] == "2012-10-17"
    sids = [s["Sid"] for s in statements(document)]
    assert len(sids) == len(set(sids)) and all(re.fullmatch(r"[A-Za-z0-9]+", s) for s in sids)
    for statement in statements(document):
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource", "Condition"}
        assert statement["Effect"] == "Allow" and statement["Action"]
        assert all(re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", a) for a in statement["Action"])
        for arn in resources(statement):
            assert arn == "*" or re.fullmatch(r"arn:aws(-[a-z-]+)?:[a-z0-9-]+:[^:]*:[^:]*:.+", arn)
        assert set(statement.get("Condition", {})) <= OPERATORS


def test_restore_and_delete_name_every_resource_type_iam_requires():
    """The Service Authorization Reference: RestoreDBClusterFromSnapshot requires cluster,
    cluster-pg, og, subgrp; DeleteDBCluster cluster and cluster-snapshot (the final
    snapshot); CreateDBClusterSnapshot cluster and cluster-snapshot."""
    document = policy_of("--source", "legacy-v1", "--target", "legacy-v2")

    def types(action: str) -> set[str]:
        return {
            arn.split(":")[5]
            for s in statements(document)
            if action in s["Action"]
            for arn in resources(s)
        }

    assert {"cluster", "cluster-pg", "og", "subgrp"} <= types("rds:RestoreDBClusterFromSnapshot")
    assert {"cluster", "cluster-snapshot"} <= types("rds:DeleteDBCluster")
    assert {"cluster", "cluster-snapshot"} <= types("rds:CreateDBClusterSnapshot")
    assert types("rds:CreateDBInstance") >= {"db", "cluster"}


def test_names_scope_what_a_run_may_change():
    document = policy_of("--source", "legacy-v1", "--target", "legacy-v2", "--dns-zone-id", "Z1")
    ours = {"snapmigrate:run-id": "r1"}

    def arn(kind: str, name: str) -> str:
        return f"arn:aws:rds:us-east-1:{ACCOUNT}:{kind}:{name}"

    # the restore creates the target, tagged; nothing else, and never untagged
    assert allowed(document, "rds:RestoreDBClusterFromSnapshot", arn("cluster", "legacy-v2"), ours)
    assert not allowed(document, "rds:RestoreDBClusterFromSnapshot", arn("cluster", "legacy-v2"))
    assert not allowed(document, "rds:RestoreDBClusterFromSnapshot", arn("cluster", "other"), ours)
    # the snapshot: of the source only, named after the target
    snap = arn("cluster-snapshot", "legacy-v2-snapmigrate-r1")
    assert allowed(document, "rds:CreateDBClusterSnapshot", snap, ours)
    assert allowed(document, "rds:CreateDBClusterSnapshot", arn("cluster", "legacy-v1"))
    assert not allowed(document, "rds:CreateDBClusterSnapshot", arn("cluster", "payroll"))
    # changes and deletion: the target carrying the run's tag; its instances
    assert allowed(document, "rds:DeleteDBCluster", arn("cluster", "legacy-v2"), ours)
    assert not allowed(document, "rds:DeleteDBCluster", arn("cluster", "legacy-v2"))
    assert not allowed(document, "rds:DeleteDBCluster", arn("cluster", "legacy-v1"), ours)
    assert allowed(document, "rds:DeleteDBCluster", arn("cluster-snapshot", "legacy-v2-final-r1"))
    assert allowed(document, "rds:DeleteDBInstance", arn("db", "legacy-v2-writer"), ours)
    assert not allowed(document, "rds:DeleteDBInstance", arn("db", "payroll-1"), ours)
    # the rename touches the source, its old name and the tagged target -- nothing else
    assert allowed(document, "rds:ModifyDBCluster", arn("cluster", "legacy-v1"))
    assert allowed(document, "rds:ModifyDBCluster", arn("cluster", "legacy-v1-old-r1"))
    assert not allowed(document, "rds:ModifyDBCluster", arn("cluster", "payroll"))
    # the record: in the zone given
    assert allowed(document, "route53:ChangeResourceRecordSets", "arn:aws:route53:::hostedzone/Z1")
    zone2 = "arn:aws:route53:::hostedzone/Z2"
    assert not allowed(document, "route53:ChangeResourceRecordSets", zone2)
    # reads stay open; rds-db:connect only with --iam-auth
    assert allowed(document, "rds:DescribeDBClusters", arn("cluster", "anything"))
    assert not any("rds-db:connect" in s["Action"] for s in statements(document))


def test_without_names_runs_change_only_what_carries_their_tag():
    document = policy_of()
    cluster = f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster:anything"
    assert not allowed(document, "rds:DeleteDBCluster", cluster)
    assert allowed(document, "rds:DeleteDBCluster", cluster, {"snapmigrate:run-id": "r1"})
    assert not allowed(document, "rds:EnableHttpEndpoint", cluster)
    # clones by their kind tag (they carry snapmigrate:clone-run, not a run id)
    clone = {"snapmigrate:kind": "clone"}
    assert allowed(document, "rds:DeleteDBCluster", cluster, clone)
    assert not allowed(document, "rds:DeleteDBCluster", cluster, {"snapmigrate:kind": "other"})
    assert allowed(document, "rds:RestoreDBClusterToPointInTime", cluster, clone)
    assert not allowed(document, "rds:RemoveTagsFromResource", cluster)
    table = CliRunner().invoke(cli, ["permissions"]).output
    assert "Wider than it would be with names" in table and "give --source" in table


def test_iam_auth_grants_connect_as_a_database_user():
    document = policy_of("--iam-auth")
    (statement,) = [s for s in statements(document) if "rds-db:connect" in s["Action"]]
    assert resources(statement) == ["arn:aws:rds-db:us-east-1:*:dbuser:*/*"]  # AWS_REGION


def test_a_customer_managed_key_is_named(tmp_path: Path):
    key = "arn:aws:kms:eu-west-1:123456789012:key/k-1"
    document = policy_of("--kms-key-id", key)
    kms = [s for s in statements(document) if "kms:CreateGrant" in s["Action"]]
    assert kms and all(resources(s) == [key] for s in kms)
    alias = policy_of("--kms-key-id", "alias/mine")
    (via,) = [s for s in statements(alias) if "kms:CreateGrant" in s["Action"]]
    assert via["Condition"] == {"StringLike": {"kms:ViaService": "rds.us-east-1.amazonaws.com"}}


def test_a_plan_file_names_everything(tmp_path: Path):
    from snapmigrate.migrate import build
    from snapmigrate.model import CutoverSpec, Plan, TargetSpec, V2Scaling
    from tests.test_preflight import v1_source

    source = v1_source(
        arn=f"arn:aws:rds:eu-west-1:{ACCOUNT}:cluster:legacy",
        master_username="postgres",
        kms_key_id=f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/k-9",
    )
    spec = TargetSpec(
        identifier="fresh",
        engine="aurora-postgresql",
        engine_version="13.12",
        restore_version="13.12",
        scaling=V2Scaling(0.5, 4),
        instances=(),
        iam_auth=True,
        cutover=CutoverSpec("dns", "Z9", "db.example.com"),
    )
    plan = Plan(source, spec, (), build(spec, source), region="eu-west-1")
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan.to_dict()))
    document = policy_of("--plan-file", str(path))
    text = json.dumps(document)
    assert f"arn:aws:rds:eu-west-1:{ACCOUNT}:cluster:fresh" in text
    assert f"arn:aws:rds:eu-west-1:{ACCOUNT}:cluster:legacy" in text
    assert "arn:aws:route53:::hostedzone/Z9" in text and '"db.example.com"' in text
    assert f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/k-9" in text
    assert f"arn:aws:rds-db:eu-west-1:{ACCOUNT}:dbuser:*/postgres" in text
    both = CliRunner().invoke(cli, ["permissions", "--plan-file", str(path), "--target", "x"])
    assert both.exit_code == 2 and "--plan-file names everything" in both.output


def test_bad_names_are_bad_input():
    result = CliRunner().invoke(cli, ["permissions", "--target", "Bad_Name"])
    assert result.exit_code == 2 and "--target 'Bad_Name' is invalid" in result.output


def test_the_in_place_path_is_asked_for_and_changes_the_source_and_only_that(tmp_path: Path):
    """``migrate --path in-place`` changes the source itself: it is not in the default
    policy; asked for, each change is on the source, its safety snapshot and the
    instances the path adds; an in-place plan file names the instances it removes."""
    from snapmigrate.migrate import build
    from snapmigrate.model import Instance, Plan, TargetSpec, V2Scaling
    from tests.test_preflight import v1_source

    def arn(kind: str, name: str, region: str = "us-east-1") -> str:
        return f"arn:aws:rds:{region}:{ACCOUNT}:{kind}:{name}"

    ours = {"snapmigrate:run-id": "r1"}
    assert not any("InPlace" in s["Sid"] for s in statements(policy_of()))
    document = policy_of("--command", "in-place", "--source", "legacy")
    assert allowed(document, "rds:ModifyDBCluster", arn("cluster", "legacy"))
    assert not allowed(document, "rds:ModifyDBCluster", arn("cluster", "payroll"))
    safety = arn("cluster-snapshot", "legacy-before-in-place-r1")
    assert allowed(document, "rds:CreateDBClusterSnapshot", safety, ours)
    assert not allowed(document, "rds:CreateDBClusterSnapshot", arn("cluster", "payroll"))
    assert allowed(document, "rds:CreateDBInstance", arn("db", "legacy-v2-1"), ours)
    assert not allowed(document, "rds:CreateDBInstance", arn("db", "legacy-v2-1"))
    assert not allowed(document, "rds:CreateDBInstance", arn("db", "payroll-v2-1"), ours)
    assert allowed(document, "rds:FailoverDBCluster", arn("cluster", "legacy"))
    assert not allowed(document, "rds:FailoverDBCluster", arn("cluster", "payroll"))
    table = CliRunner().invoke(cli, ["permissions", "--command", "in-place", "--source", "legacy"])
    assert "the source's instances (--path in-place removes its provisioned ones)" in table.output

    source = v1_source(
        arn=arn("cluster", "legacy", "eu-west-1"),
        engine_mode="provisioned",
        v1_scaling=None,
        instances=(Instance("legacy-old-1", "db.r6g.large", "eu-west-1a", True, "available"),),
    )
    spec = TargetSpec(
        identifier="legacy",
        engine="aurora-postgresql",
        engine_version="15.4",
        restore_version="15.4",
        scaling=V2Scaling(0.5, 4),
        instances=(),
        path="in-place",
    )
    plan = Plan(source, spec, (), build(spec, source), region="eu-west-1")
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan.to_dict()))
    named = policy_of("--plan-file", str(path))
    assert any("InPlace" in s["Sid"] for s in statements(named))
    old = arn("db", "legacy-old-1", "eu-west-1")
    assert allowed(named, "rds:DeleteDBInstance", old)
    assert not allowed(named, "rds:DeleteDBInstance", arn("db", "payroll-1", "eu-west-1"))
    # a v1 source has no instance before its conversion: still the in-place path's grants
    v1 = v1_source(arn=arn("cluster", "legacy", "eu-west-1"), instances=())
    path.write_text(json.dumps(Plan(v1, spec, (), build(spec, v1), region="eu-west-1").to_dict()))
    assert any("InPlace" in s["Sid"] for s in statements(policy_of("--plan-file", str(path))))


def test_a_drill_changes_only_clones_and_its_copies_in_either_region():
    """A drill's copy is a clone (by the kind tag) and may live in the DR region; the
    recovery point copied there and deleted with it carries the same tag."""
    document = policy_of("--command", "drill", "--region", "eu-west-1")
    clone = {"snapmigrate:kind": "clone"}

    def arn(kind: str, name: str, region: str) -> str:
        return f"arn:aws:rds:{region}:{ACCOUNT}:{kind}:{name}"

    copy = arn("cluster-snapshot", "legacy-drill-1a2b3c4d-snap", "us-west-2")
    # the recovery point may be any snapshot of the source (automated ones are rds:...):
    # the copy is granted on snapshots; what it creates is deleted only with the clone tag
    assert allowed(document, "rds:CopyDBClusterSnapshot", copy, clone)
    assert allowed(document, "rds:DeleteDBClusterSnapshot", copy, clone)
    assert not allowed(document, "rds:DeleteDBClusterSnapshot", copy)
    other = arn("cluster-snapshot", "legacy-final-r1", "eu-west-1")
    assert not allowed(document, "rds:DeleteDBClusterSnapshot", other, clone)
    for region in ("eu-west-1", "us-west-2"):
        restored = arn("cluster", "legacy-drill-1a2b3c4d", region)
        assert allowed(document, "rds:RestoreDBClusterFromSnapshot", restored, clone)
        assert not allowed(document, "rds:RestoreDBClusterFromSnapshot", restored)
        assert allowed(document, "rds:DeleteDBCluster", restored, clone)
        assert not allowed(document, "rds:DeleteDBCluster", arn("cluster", "legacy", region))

"""``snapmigrate iac RUN_ID``: after an in-place run (on moto), the cluster as Terraform
that a real HCL parser reads (imports, resources, state rm comments), and as a
CloudFormation template that cfn-lint passes, with DeletionPolicy for the import."""

from __future__ import annotations

import json
from typing import Any

import hcl2
from cfnlint.api import ManualArgs, lint

from tests.inplace.test_crash import CONVERTED_WRITER, InPlaceMatrix
from tests.migrate.conftest import RUN_ID
from tests.test_plan_cli import invoke


def text(value: Any) -> str:
    """A parsed HCL value as plain text (python-hcl2 keeps quotes and ``${}``)."""
    return str(value).strip('"').removeprefix("${").removesuffix("}")


def run_in_place(world: Any, tmp_path: Any) -> str:
    matrix = InPlaceMatrix(world, tmp_path)
    state_dir = matrix.fresh()
    assert matrix.runner(state_dir).start(matrix.env.plan).record.state == "done"
    return str(state_dir)


def test_terraform_is_hcl_with_imports_for_what_exists(world, tmp_path):
    state_dir = run_in_place(world, tmp_path)
    result, recorder = invoke(["iac", RUN_ID, "--format", "terraform", "--state-dir", state_dir])
    assert result.exit_code == 0, result.output
    parsed = hcl2.loads(result.stdout)
    imports = {(text(i["to"]), text(i["id"])) for i in parsed["import"]}
    assert imports == {
        ("aws_rds_cluster.legacy", "legacy"),
        ("aws_rds_cluster_instance.legacy_v2_1", "legacy-v2-1"),
        ("aws_rds_cluster_instance.legacy_v2_2", "legacy-v2-2"),
    }
    resources: dict[str, dict[str, Any]] = {}
    for block in parsed["resource"]:
        for kind, named in block.items():
            for name, body in named.items():
                resources.setdefault(text(kind), {})[text(name)] = body
    cluster = resources["aws_rds_cluster"]["legacy"]
    assert text(cluster["engine_mode"]) == "provisioned"
    assert float(cluster["serverlessv2_scaling_configuration"][0]["max_capacity"]) == 4
    instances = resources["aws_rds_cluster_instance"]
    assert {text(v["instance_class"]) for v in instances.values()} == {"db.serverless"}
    assert text(instances["legacy_v2_1"]["cluster_identifier"]) == "aws_rds_cluster.legacy.id"
    assert "#   terraform state rm aws_rds_cluster.legacy" in result.stdout
    assert f"terraform state rm aws_rds_cluster_instance.{CONVERTED_WRITER.replace('-', '_')}" in (
        result.stdout
    )
    assert "terraform plan" in result.stderr
    assert not recorder.mutating


def test_cloudformation_passes_cfn_lint_and_retains_for_import(world, tmp_path):
    state_dir = run_in_place(world, tmp_path)
    notes = tmp_path / "notes.txt"
    result, _ = invoke(
        ["iac", RUN_ID, "--format", "cloudformation", "--state-dir", state_dir,
         "--notes", str(notes)]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    template = json.loads(result.stdout)
    matches = lint(result.stdout, config=ManualArgs(regions=["us-east-1"]))
    errors = [str(m) for m in matches if m.rule.id.startswith("E")]
    assert errors == [], "\n".join(errors)
    # Warnings it may give, true of the adopted cluster: its real zones (an import must
    # match what exists) and AWS's deprecation of 13.12 for new clusters.
    assert {m.rule.id for m in matches} <= {"W3010", "W3690"}
    resources = template["Resources"]
    assert {r["Type"] for r in resources.values()} == {
        "AWS::RDS::DBCluster",
        "AWS::RDS::DBInstance",
    }
    assert all(r["DeletionPolicy"] == "Retain" for r in resources.values())
    cluster = resources["LegacyCluster"]["Properties"]
    assert cluster["DBClusterIdentifier"] == "legacy" and "EngineMode" not in cluster
    text = notes.read_text()
    assert "--change-set-type IMPORT" in text and '"DBClusterIdentifier": "legacy"' in text


def test_iac_of_an_unknown_run_is_bad_input(world, tmp_path):
    result, _ = invoke(
        ["iac", "0badf00d", "--format", "terraform", "--state-dir", str(tmp_path / "none")]
    )
    assert result.exit_code == 2

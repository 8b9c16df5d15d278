"""``snapmigrate iac``: the cluster a run left as code to adopt without replacing it.

- Terraform: ``resource`` blocks for the cluster and its instances with the
  ``import`` blocks that adopt them (Terraform 1.5+), the ``terraform state rm``
  commands for what the old code held as comments -- the whole text is HCL.
  https://developer.hashicorp.com/terraform/language/import
- CloudFormation: a JSON template whose resources carry ``DeletionPolicy: Retain``
  (resource import requires a DeletionPolicy), and the import change set's steps.
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resource-import.html
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from snapmigrate.inplace.iac import CodeCluster


TERRAFORM_STEPS = (
    "Run the 'terraform state rm' commands in the comments first (with your addresses), "
    "then 'terraform plan': it should show imports only (import blocks need Terraform 1.5+).\n"
)


def _name(identifier: str) -> str:
    """A Terraform resource name for an RDS identifier (letters, digits, underscores)."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", identifier)
    return name if name[:1].isalpha() else f"r_{name}"


def _logical(identifier: str, suffix: str = "") -> str:
    """A CloudFormation logical id (alphanumeric)."""
    return "".join(p.capitalize() for p in re.split(r"[^A-Za-z0-9]", identifier) if p) + suffix


class Expr(str):
    """An HCL expression (a reference), written as is rather than quoted."""


def _hcl(value: Any) -> str:
    if isinstance(value, Expr):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_hcl(v) for v in value) + "]"
    return json.dumps(str(value))


def _attrs(pairs: list[tuple[str, Any]], indent: str = "  ") -> list[str]:
    kept = [(k, v) for k, v in pairs if v is not None and v != ()]
    width = max((len(k) for k, _ in kept), default=0)
    return [f"{indent}{k.ljust(width)} = {_hcl(v)}" for k, v in kept]


def terraform(c: CodeCluster) -> str:
    cluster = _name(c.identifier)
    lines = [
        f"# snapmigrate run {c.run_id} ({c.path} path): {c.identifier} as it is now, to adopt",
        "# without replacing it. First drop what the old code held from the state (adjust",
        "# the addresses to yours), then 'terraform plan' should show the imports only:",
    ]
    lines += [f"#   terraform state rm aws_rds_cluster.{_name(g)}" for g in c.gone_clusters]
    rm = "#   terraform state rm aws_rds_cluster_instance."
    lines += [f"{rm}{_name(g)}" for g in c.gone_instances]
    lines += ["", "import {", f"  to = aws_rds_cluster.{cluster}", f"  id = {_hcl(c.identifier)}"]
    lines += ["}", "", f'resource "aws_rds_cluster" "{cluster}" {{']
    lines += _attrs(
        [
            ("cluster_identifier", c.identifier),
            ("engine", c.engine),
            ("engine_mode", "provisioned"),
            ("engine_version", c.engine_version),
            ("master_username", c.master_username),
            ("manage_master_user_password", True if c.managed_password else None),
            ("database_name", c.database_name),
            ("port", c.port),
            ("db_subnet_group_name", c.subnet_group),
            ("vpc_security_group_ids", c.security_group_ids or None),
            ("db_cluster_parameter_group_name", c.parameter_group),
            ("storage_encrypted", c.storage_encrypted),
            ("kms_key_id", c.kms_key_id),
            ("deletion_protection", c.deletion_protection),
            ("backup_retention_period", c.backup_retention_period),
        ]
    )
    if c.max_capacity is not None:
        lines += ["", "  serverlessv2_scaling_configuration {"]
        lines += _attrs(
            [
                ("min_capacity", float(c.min_capacity or 0)),
                ("max_capacity", float(c.max_capacity)),
                ("seconds_until_auto_pause", c.seconds_until_auto_pause),
            ],
            "    ",
        )
        lines += ["  }"]
    if not c.managed_password:
        lines += ["", "  # the password is not read back: keep it out of the plan's changes"]
        lines += ["  lifecycle {", "    ignore_changes = [master_password]", "  }"]
    lines += ["}"]
    for i in c.instances:
        name = _name(i.identifier)
        lines += ["", "import {", f"  to = aws_rds_cluster_instance.{name}"]
        lines += [f"  id = {_hcl(i.identifier)}", "}", ""]
        lines += [f'resource "aws_rds_cluster_instance" "{name}" {{']
        lines += _attrs(
            [
                ("identifier", i.identifier),
                ("cluster_identifier", Expr(f"aws_rds_cluster.{cluster}.id")),
                ("instance_class", i.instance_class),
                ("engine", Expr(f"aws_rds_cluster.{cluster}.engine")),
                ("engine_version", Expr(f"aws_rds_cluster.{cluster}.engine_version")),
                ("availability_zone", i.availability_zone),
                ("promotion_tier", i.promotion_tier),
            ]
        )
        lines += ["}"]
    return "\n".join(lines) + "\n"


def cloudformation(c: CodeCluster) -> tuple[str, str]:
    """The template (JSON) and the import steps."""
    cluster = _logical(c.identifier, "Cluster")
    props: dict[str, Any] = {
        "DBClusterIdentifier": c.identifier,
        "Engine": c.engine,
        "EngineVersion": c.engine_version,
        "MasterUsername": c.master_username,
        "ManageMasterUserPassword": True if c.managed_password else None,
        "DatabaseName": c.database_name,
        "Port": c.port,
        "DBSubnetGroupName": c.subnet_group,
        "VpcSecurityGroupIds": list(c.security_group_ids) or None,
        "DBClusterParameterGroupName": c.parameter_group,
        "StorageEncrypted": c.storage_encrypted,
        "KmsKeyId": c.kms_key_id,
        "DeletionProtection": c.deletion_protection,
        "BackupRetentionPeriod": c.backup_retention_period,
    }
    if c.max_capacity is not None:
        scaling = {"MinCapacity": c.min_capacity or 0, "MaxCapacity": c.max_capacity}
        if c.seconds_until_auto_pause is not None:
            scaling["SecondsUntilAutoPause"] = c.seconds_until_auto_pause
        props["ServerlessV2ScalingConfiguration"] = scaling
    resources: dict[str, Any] = {cluster: _retained("AWS::RDS::DBCluster", props)}
    imports = [_import("AWS::RDS::DBCluster", cluster, "DBClusterIdentifier", c.identifier)]
    for i in c.instances:
        logical = _logical(i.identifier)
        instance = {
            "DBInstanceIdentifier": i.identifier,
            "DBClusterIdentifier": {"Ref": cluster},
            "DBInstanceClass": i.instance_class,
            "Engine": c.engine,
            "AvailabilityZone": i.availability_zone,
            "PromotionTier": i.promotion_tier,
        }
        resources[logical] = _retained("AWS::RDS::DBInstance", instance)
        imports.append(
            _import("AWS::RDS::DBInstance", logical, "DBInstanceIdentifier", i.identifier)
        )
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"{c.identifier} as snapmigrate run {c.run_id} left it ({c.path} path)",
        "Resources": resources,
    }
    return json.dumps(template, indent=2) + "\n", _import_notes(c, imports)


def _retained(kind: str, props: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": kind,
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {k: v for k, v in props.items() if v is not None},
    }


def _import(kind: str, logical: str, key: str, identifier: str) -> dict[str, Any]:
    return {
        "ResourceType": kind,
        "LogicalResourceId": logical,
        "ResourceIdentifier": {key: identifier},
    }


def _import_notes(c: CodeCluster, imports: list[dict[str, Any]]) -> str:
    old = ", ".join([*c.gone_clusters, *c.gone_instances])
    return "\n".join(
        [
            f"Adopting {c.identifier} (snapmigrate run {c.run_id}) into a CloudFormation stack:",
            f"1. In the stack that held {old}: set DeletionPolicy: Retain on those resources,",
            "   update the stack, then remove them from its template and update it again",
            "   (the resources stay in AWS; the stack forgets them).",
            "2. Save the template above as template.json and this as resources.json:",
            "   " + json.dumps(imports),
            "3. aws cloudformation create-change-set --stack-name STACK --change-set-name "
            f"adopt-{c.identifier} --change-set-type IMPORT --resources-to-import "
            "file://resources.json --template-body file://template.json",
            "   (--change-set-type IMPORT into an existing stack needs the stack's other",
            "   resources in the template too; into a new stack, as is.)",
            "4. aws cloudformation describe-change-set ... (only Import actions), then "
            "aws cloudformation execute-change-set --change-set-name "
            f"adopt-{c.identifier} --stack-name STACK",
            "The master password is not read back: add MasterUserPassword (a dynamic reference)",
            "or ManageMasterUserPassword after the import, in a normal update.",
        ]
    ) + "\n"

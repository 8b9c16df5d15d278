"""``permissions``: the least-privilege IAM policy, from what each step declares,
scoped to the resources it names (:mod:`snapmigrate.iam`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from snapmigrate import permissions as perms
from snapmigrate.commands.config import Config
from snapmigrate.commands.migration import read_plan_file
from snapmigrate.errors import BadInput
from snapmigrate.iam import Scope, partition_of, wider_than_needed
from snapmigrate.model import Plan
from snapmigrate.plan.options import check_identifier


@dataclass(frozen=True)
class PolicyNames:
    """What the policy may name (``permissions`` options); all of it from ``plan_file``."""

    source: str | None = None
    target: str | None = None
    zone_id: str | None = None
    kms_key_id: str | None = None
    iam_auth: bool = False
    plan_file: str | None = None


@dataclass(frozen=True)
class Policy:
    """The IAM actions each part of each command needs, the policy granting them, and
    what it could not name (wider than it would be with the names)."""

    grants: tuple[perms.Grant, ...]
    document: dict[str, Any]
    notes: tuple[str, ...] = ()


def permissions(
    config: Config, commands: Iterable[str] = perms.COMMANDS, names: PolicyNames | None = None
) -> Policy:
    """The least-privilege IAM policy for ``commands``: reads on ``"*"``, every change on
    the resources it touches -- named where ``names`` (or its plan file) say, else by
    the tool's naming patterns and its ``snapmigrate:run-id`` tag. Reads no AWS."""
    wanted = tuple(commands)
    scope = scope_of(config, names or PolicyNames())
    if scope.in_place and "migrate" in wanted and perms.IN_PLACE not in wanted:
        wanted += (perms.IN_PLACE,)  # an in-place plan: its migrate is the in-place path's
    return Policy(
        tuple(perms.grants(wanted, iam_auth=scope.iam_auth)),
        perms.policy(wanted, scope),
        tuple(wider_than_needed(scope, wanted)),
    )


def scope_of(config: Config, names: PolicyNames) -> Scope:
    """The :class:`Scope` of the options (bad input, exit 2, when they are wrong)."""
    if names.plan_file:
        given = [
            flag
            for flag, value in (
                ("--source", names.source),
                ("--target", names.target),
                ("--dns-zone-id", names.zone_id),
                ("--kms-key-id", names.kms_key_id),
                ("--iam-auth", names.iam_auth),
            )
            if value
        ]
        if given:
            raise BadInput(f"--plan-file names everything the policy needs: drop {given[0]}")
        return _from_plan(read_plan_file(names.plan_file))
    region = config.aws.region or "*"
    return Scope(
        partition=partition_of(config.aws.region),
        region=region,
        source=check_identifier(names.source, "--source") if names.source else None,
        target=check_identifier(names.target, "--target") if names.target else None,
        zone_id=names.zone_id.rsplit("/", 1)[-1] if names.zone_id else None,
        kms_keys=(names.kms_key_id,) if names.kms_key_id else (),
        iam_auth=names.iam_auth,
    )


def _from_plan(plan: Plan) -> Scope:
    """Everything from the plan: the account and Region of the source's ARN, the names."""
    parts = plan.source.arn.split(":")
    if len(parts) > 5:
        partition, region, account = parts[1], parts[3], parts[4]
    else:
        partition, region, account = partition_of(plan.region), plan.region or "*", "*"
    target, source = plan.target, plan.source
    keys = tuple(k for k in (target.kms_key_id, source.kms_key_id) if k)
    return Scope(
        partition=partition,
        region=region or "*",
        account=account or "*",
        source=source.identifier,
        target=target.identifier,
        zone_id=target.cutover.zone_id,
        record_name=target.cutover.record_name,
        kms_keys=keys,
        iam_auth=target.iam_auth,
        db_user=source.master_username,
        snapshot=target.snapshot_identifier,
        parameter_group=target.parameter_group,
        subnet_group=target.subnet_group,
        source_writer=target.catch_up.prepare.writer if target.catch_up.prepare else None,
        source_instances=tuple(i.identifier for i in source.instances),
        in_place=target.path == perms.IN_PLACE,
    )

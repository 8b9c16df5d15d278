"""Least privilege in fact: which resources each IAM action may touch.

Steps declare the actions they need (``permissions``); this module decides the
``Resource`` (and ``Condition``) of each. Reads (``Describe*``, ``List*``,
``Get*``) may name ``"*"``; an action that changes something never does:

- names, where they are known (``permissions --source/--target/--dns-zone-id/
  --kms-key-id``, or all of them from ``--plan-file``): ARNs of the source, the
  target and its ``-writer``/``-reader-N``/``-bridge`` instances, the zone, the key;
- otherwise the tool's own naming patterns (``*-snapmigrate-*`` run snapshots,
  ``*-final-*`` final snapshots, ``rds!cluster-*`` managed secrets) and tag
  conditions: what a run creates carries ``snapmigrate:run-id`` in the request
  (``aws:RequestTag``), and what it changes carries it already
  (``aws:ResourceTag``); the source, which no run tags, only by name or type.

Resource types follow the IAM Service Authorization Reference ("Actions,
resources, and condition keys for Amazon RDS": ``RestoreDBClusterFromSnapshot``
requires ``cluster``, ``cluster-pg``, ``og`` and ``subgrp``; ``DeleteDBCluster``
``cluster`` and ``cluster-snapshot``; ``rds-db:connect`` a ``dbuser``).
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonrds.html
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from snapmigrate.model import KIND_CLONE, TAG_KIND, TAG_RUN_ID

#: A condition block of a statement (``{"Null": {"aws:RequestTag/...": "false"}}``).
Condition = Mapping[str, Mapping[str, Any]]

CREATED_TAGGED: Condition = {"Null": {f"aws:RequestTag/{TAG_RUN_ID}": "false"}}
OWN_TAGGED: Condition = {"Null": {f"aws:ResourceTag/{TAG_RUN_ID}": "false"}}
#: Clones carry ``snapmigrate:kind=clone`` (not a migration's run id): their changes by that tag.
CLONE_CREATED: Condition = {"StringEquals": {f"aws:RequestTag/{TAG_KIND}": KIND_CLONE}}
CLONE_OWN: Condition = {"StringEquals": {f"aws:ResourceTag/{TAG_KIND}": KIND_CLONE}}
READ_PREFIXES = ("Describe", "List", "Get")
#: Reads that still name their resources: secrets and keys.
SCOPED_READS = frozenset({"secretsmanager:GetSecretValue", "kms:DescribeKey"})


@dataclass(frozen=True)
class Scope:
    """What a policy can name: the account's ARN parts and the run's resources."""

    partition: str = "aws"
    region: str = "*"
    account: str = "*"
    source: str | None = None
    target: str | None = None
    zone_id: str | None = None
    record_name: str | None = None
    #: Keys the restore uses: ``--kms-key-id`` and the snapshot's (ids, ARNs or aliases).
    kms_keys: tuple[str, ...] = ()
    iam_auth: bool = False
    db_user: str | None = None
    snapshot: str | None = None
    parameter_group: str | None = None
    subnet_group: str | None = None
    #: The source's writer (``--prepare-source`` reboots it), from the plan.
    source_writer: str | None = None
    #: The source's instances (``--path in-place`` removes the provisioned ones), from the plan.
    source_instances: tuple[str, ...] = ()
    #: The plan is the in-place path's (its migrate changes the source itself).
    in_place: bool = False

    def rds(self, kind: str, name: str) -> str:
        return f"arn:{self.partition}:rds:{self.region}:{self.account}:{kind}:{name}"

    def arn(self, service: str, resource: str, *, global_: bool = False) -> str:
        where = ":::" if global_ else f":{self.region}:{self.account}:"
        return f"arn:{self.partition}:{service}{where}{resource}"


def partition_of(region: str | None) -> str:
    """The ARN partition of a Region (``aws-cn`` for China, ``aws-us-gov`` for GovCloud)."""
    if region and region.startswith("cn-"):
        return "aws-cn"
    if region and region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def is_read(action: str) -> bool:
    """Whether ``action`` only reads (and may name ``"*"``)."""
    verb = action.split(":", 1)[1]
    return verb.startswith(READ_PREFIXES) and action not in SCOPED_READS


@dataclass(frozen=True)
class Access:
    """Resources (and a condition) an action may touch: one statement's worth."""

    resources: tuple[str, ...]
    condition: Condition | None = None


Rule = Callable[[Scope], list[Access]]


# -- the resources ------------------------------------------------------------------


def _named_or_tagged(scope: Scope, kind: str, name: str | None, tagged: Condition) -> Access:
    if name:
        return Access((scope.rds(kind, name),), tagged)
    return Access((scope.rds(kind, "*"),), tagged)


def source_cluster(scope: Scope) -> Access:
    """The source: by name, else any cluster (no run tags it: give --source)."""
    return Access((scope.rds("cluster", scope.source or "*"),))


def renamed_source(scope: Scope) -> Access:
    """The source and the name a rename cutover gives it, ``<source>-old-<run>``."""
    if not scope.source:
        return source_cluster(scope)
    old = f"{scope.source}-old-*"
    return Access((scope.rds("cluster", scope.source), scope.rds("cluster", old)))


def target_cluster(scope: Scope) -> Access:
    return _named_or_tagged(scope, "cluster", scope.target, OWN_TAGGED)


def new_target(scope: Scope) -> Access:
    return _named_or_tagged(scope, "cluster", scope.target, CREATED_TAGGED)


def renamed_target(scope: Scope) -> Access:
    """The target under its own name or the source's (after a rename), carrying its tag."""
    if scope.source and scope.target:
        names = (scope.rds("cluster", scope.target), scope.rds("cluster", scope.source))
        return Access(names, OWN_TAGGED)
    return Access((scope.rds("cluster", "*"),), OWN_TAGGED)


def instances(scope: Scope, tagged: Condition) -> Access:
    pattern = f"{scope.target}-*" if scope.target else "*"
    return Access((scope.rds("db", pattern),), tagged)


def run_snapshots(scope: Scope, tagged: Condition | None) -> Access:
    """``<target>-snapmigrate-<run>``: the snapshot a run takes."""
    return Access((scope.rds("cluster-snapshot", f"{scope.target or '*'}-snapmigrate-*"),), tagged)


def restored_snapshot(scope: Scope) -> Access:
    """The snapshot a restore reads: the run's, or the one given with --snapshot."""
    names = [scope.rds("cluster-snapshot", f"{scope.target or '*'}-snapmigrate-*")]
    if scope.snapshot:
        given = scope.snapshot
        names.append(given if given.startswith("arn:") else scope.rds("cluster-snapshot", given))
    elif not scope.target:
        names = [scope.rds("cluster-snapshot", "*")]
    return Access(tuple(names))


def logical_groups(scope: Scope, tagged: Condition | None) -> Access:
    """``<source>-logical-<run>``: the cluster parameter group ``--prepare-source`` makes."""
    return Access((scope.rds("cluster-pg", f"{scope.source or '*'}-logical-*"),), tagged)


def source_writer(scope: Scope) -> Access:
    """The source's writer, by name from the plan -- else any instance (no run tags it)."""
    return Access((scope.rds("db", scope.source_writer or "*"),))


def safety_snapshots(scope: Scope, tagged: Condition | None) -> Access:
    """``<source>-before-in-place-<run>``: the in-place path's way back."""
    name = f"{scope.source or '*'}-before-in-place-*"
    return Access((scope.rds("cluster-snapshot", name),), tagged)


def in_place_instances(scope: Scope, tagged: Condition | None) -> Access:
    """``<source>-v2-N``: the db.serverless instances the in-place path adds."""
    return Access((scope.rds("db", f"{scope.source or '*'}-v2-*"),), tagged)


def source_instances(scope: Scope) -> Access:
    """The source's own instances, by name from the plan -- else any instance (untagged)."""
    names = scope.source_instances or ("*",)
    return Access(tuple(scope.rds("db", n) for n in names))


def final_snapshots(scope: Scope) -> Access:
    """``<cluster>-final-<run>``: the snapshot a cleanup leaves of the deleted cluster."""
    return Access((scope.rds("cluster-snapshot", f"{scope.target or '*'}-final-*"),))


def restore_groups(scope: Scope) -> Access:
    """What a restore (and an instance) names besides the cluster: the cluster and DB
    parameter groups (the default of the family, or the one given), the option
    group and the subnet group."""
    groups = [scope.rds("cluster-pg", "default.aurora-postgresql*")]
    if scope.parameter_group:
        groups.append(scope.rds("cluster-pg", scope.parameter_group))
    return Access(
        (
            *groups,
            scope.rds("pg", "default.aurora-postgresql*"),
            scope.rds("og", "*"),
            scope.rds("subgrp", scope.subnet_group or "*"),
        )
    )


def managed_secrets(scope: Scope) -> Access:
    """The master secrets RDS manages, ``rds!cluster-<id>``."""
    return Access((scope.arn("secretsmanager", "secret:rds!cluster-*"),))


def kms_keys(scope: Scope) -> Access:
    """The keys given (a key id or ARN), else any key used through RDS."""
    named = [
        k if k.startswith("arn:") else scope.arn("kms", f"key/{k}")
        for k in scope.kms_keys
        if not k.startswith("alias/") and ":alias/" not in k
    ]
    if named and len(named) == len(scope.kms_keys):
        return Access(tuple(named))
    region = scope.region if scope.region != "*" else "*"
    via = {"StringLike": {"kms:ViaService": f"rds.{region}.amazonaws.com"}}
    return Access((scope.arn("kms", "key/*"),), via)


def hosted_zone(scope: Scope) -> Access:
    zone = f"hostedzone/{scope.zone_id or '*'}"
    condition: dict[str, Any] = {
        "ForAllValues:StringEquals": {"route53:ChangeResourceRecordSetsRecordTypes": ["CNAME"]}
    }
    if scope.record_name:
        name = scope.record_name.rstrip(".").lower()
        condition["ForAllValues:StringEquals"][
            "route53:ChangeResourceRecordSetsNormalizedRecordNames"
        ] = [name]
    return Access((scope.arn("route53", zone, global_=True),), condition)


def db_users(scope: Scope) -> Access:
    """``rds-db:connect`` as the master user (any cluster: the target's resource id is
    new with the restore, and a rename keeps it)."""
    user = scope.db_user or "*"
    return Access((scope.arn("rds-db", f"dbuser:*/{user}"),))


# -- which resources each action touches ----------------------------------------------

#: Per action: the resources it may touch, wherever a step needs it.
RULES: dict[str, Rule] = {
    "rds:CreateDBClusterSnapshot": lambda s: [
        source_cluster(s),
        run_snapshots(s, CREATED_TAGGED),
    ],
    "rds:DeleteDBClusterSnapshot": lambda s: [run_snapshots(s, OWN_TAGGED)],
    "rds:RestoreDBClusterFromSnapshot": lambda s: [
        new_target(s),
        restored_snapshot(s),
        restore_groups(s),
    ],
    "rds:ModifyDBCluster": lambda s: [target_cluster(s)],
    "rds:EnableHttpEndpoint": lambda s: [target_cluster(s)],
    "rds:FailoverDBCluster": lambda s: [target_cluster(s), instances(s, OWN_TAGGED)],
    "rds:DeleteDBCluster": lambda s: [target_cluster(s), final_snapshots(s)],
    "rds:CreateDBInstance": lambda s: [
        instances(s, CREATED_TAGGED),
        target_cluster(s),
        restore_groups(s),
    ],
    "rds:DeleteDBInstance": lambda s: [instances(s, OWN_TAGGED)],
    "rds-db:connect": lambda s: [db_users(s)],
    "secretsmanager:GetSecretValue": lambda s: [managed_secrets(s)],
    "secretsmanager:CreateSecret": lambda s: [managed_secrets(s)],
    "secretsmanager:TagResource": lambda s: [managed_secrets(s)],
    "kms:CreateGrant": lambda s: [kms_keys(s)],
    "kms:DescribeKey": lambda s: [kms_keys(s)],
    "route53:ChangeResourceRecordSets": lambda s: [hosted_zone(s)],
}

#: Where one step's use of an action touches other resources than :data:`RULES` says.
PART_RULES: dict[tuple[str, str], Rule] = {
    # tags come with the create: the snapshot, the restored cluster, the instances
    ("snapshot", "rds:AddTagsToResource"): lambda s: [run_snapshots(s, CREATED_TAGGED)],
    ("restore", "rds:AddTagsToResource"): lambda s: [new_target(s)],
    ("instances", "rds:AddTagsToResource"): lambda s: [instances(s, CREATED_TAGGED)],
    # --catch-up logical --prepare-source: the run's group, given to the source, its writer
    # rebooted (the one step that changes the source: the plan asks for it)
    ("prepare-source", "rds:CreateDBClusterParameterGroup"): lambda s: [
        logical_groups(s, CREATED_TAGGED)
    ],
    ("prepare-source", "rds:AddTagsToResource"): lambda s: [logical_groups(s, CREATED_TAGGED)],
    ("prepare-source", "rds:ModifyDBClusterParameterGroup"): lambda s: [
        logical_groups(s, OWN_TAGGED)
    ],
    ("prepare-source", "rds:ModifyDBCluster"): lambda s: [
        source_cluster(s),
        logical_groups(s, None),
    ],
    ("prepare-source", "rds:RebootDBInstance"): lambda s: [source_writer(s)],
    ("cleanup", "rds:DeleteDBClusterParameterGroup"): lambda s: [logical_groups(s, OWN_TAGGED)],
    # a rename cutover renames the source away and the target onto the source's name
    ("swap rename", "rds:ModifyDBCluster"): lambda s: [renamed_source(s), renamed_target(s)],
}


def clones(scope: Scope, tagged: Condition) -> Access:
    return Access((scope.rds("cluster", "*"),), tagged)


def clone_instances(scope: Scope, tagged: Condition) -> Access:
    return Access((scope.rds("db", "*"),), tagged)


#: ``snapmigrate clone``: what it creates, changes and deletes is a clone, by its kind tag.
CLONE_RULES: dict[str, Rule] = {
    "rds:RestoreDBClusterToPointInTime": lambda s: [
        clones(s, CLONE_CREATED),
        source_cluster(s),
        restore_groups(s),
    ],
    "rds:RestoreDBClusterFromSnapshot": lambda s: [
        clones(s, CLONE_CREATED),
        Access((s.rds("cluster-snapshot", "*"),)),
        restore_groups(s),
    ],
    "rds:ModifyDBCluster": lambda s: [clones(s, CLONE_OWN)],
    "rds:CreateDBInstance": lambda s: [
        clone_instances(s, CLONE_CREATED),
        clones(s, CLONE_OWN),
        restore_groups(s),
    ],
    "rds:AddTagsToResource": lambda s: [
        clones(s, CLONE_CREATED),
        clones(s, CLONE_OWN),
        clone_instances(s, CLONE_CREATED),
    ],
    "rds:RemoveTagsFromResource": lambda s: [clones(s, CLONE_OWN)],
    "rds:DeleteDBInstance": lambda s: [clone_instances(s, CLONE_OWN)],
    "rds:DeleteDBCluster": lambda s: [
        clones(s, CLONE_OWN),
        Access((s.rds("cluster-snapshot", "*-final-*"),)),
    ],
    "rds:CreateDBClusterSnapshot": lambda s: [
        clones(s, CLONE_OWN),
        Access((s.rds("cluster-snapshot", "*-final-*"),)),
    ],
}
#: ``migrate --path in-place`` (``permissions --command in-place``): the source itself
#: changes -- the plan says so, step by step.
IN_PLACE_RULES: dict[str, Rule] = {
    "rds:CreateDBClusterSnapshot": lambda s: [
        source_cluster(s),
        safety_snapshots(s, CREATED_TAGGED),
    ],
    "rds:ModifyDBCluster": lambda s: [source_cluster(s), restore_groups(s)],
    "rds:CreateDBInstance": lambda s: [
        in_place_instances(s, CREATED_TAGGED),
        source_cluster(s),
        restore_groups(s),
    ],
    "rds:AddTagsToResource": lambda s: [
        safety_snapshots(s, CREATED_TAGGED),
        in_place_instances(s, CREATED_TAGGED),
    ],
    "rds:FailoverDBCluster": lambda s: [source_cluster(s), in_place_instances(s, None)],
    "rds:DeleteDBInstance": lambda s: [source_instances(s), in_place_instances(s, OWN_TAGGED)],
}

def drill_copies(scope: Scope, tagged: Condition) -> Access:
    """``<source>-drill-<id>-snap``: a recovery point copied into the DR region."""
    return Access((scope.rds("cluster-snapshot", "*-drill-*-snap"),), tagged)


def _any_region(rule: Rule) -> Rule:
    """``rule`` in every Region: a drill restores in the source's or in ``--to-region``."""
    return lambda s: rule(replace(s, region="*"))


#: ``snapmigrate drill``: its copy is a clone (the clone's rules, by the kind tag, in any
#: Region), plus the recovery point copied into the DR region and deleted with the copy.
DRILL_RULES: dict[str, Rule] = {
    **{action: _any_region(rule) for action, rule in CLONE_RULES.items()},
    "rds:CopyDBClusterSnapshot": _any_region(
        lambda s: [
            Access((s.rds("cluster-snapshot", "*"),)),  # the recovery point read
            drill_copies(s, CLONE_CREATED),
        ]
    ),
    "rds:AddTagsToResource": _any_region(
        lambda s: [*CLONE_RULES["rds:AddTagsToResource"](s), drill_copies(s, CLONE_CREATED)]
    ),
    "rds:DeleteDBClusterSnapshot": _any_region(lambda s: [drill_copies(s, CLONE_OWN)]),
}

COMMAND_RULES: dict[str, dict[str, Rule]] = {
    "clone": CLONE_RULES,
    "drill": DRILL_RULES,
    "in-place": IN_PLACE_RULES,
}


def _rule(command: str, part: str, action: str) -> Rule | None:
    by_command = COMMAND_RULES.get(command, {}).get(action)
    return by_command or PART_RULES.get((part, action)) or RULES.get(action)


def unscoped(command: str, part: str, action: str) -> bool:
    """Whether no rule scopes ``action`` (a mutating one): a new step must add one."""
    return not is_read(action) and _rule(command, part, action) is None


def grants_for(command: str, part: str, action: str, scope: Scope) -> list[Access]:
    """The resources ``action`` may touch when step ``part`` of ``command`` uses it."""
    if is_read(action):
        return [Access(("*",))]
    rule = _rule(command, part, action)
    if rule is None:
        # Never "*" on a change: a mutating action without a rule may touch only what
        # this tool's runs tagged (tests/test_permissions.py asks for a rule).
        return [Access((scope.arn(action.split(":", 1)[0], "*"),), OWN_TAGGED)]
    return rule(scope)


def wider_than_needed(scope: Scope, commands: tuple[str, ...] = ()) -> list[str]:
    """What the policy for ``commands`` could not name, and the option that would scope it."""
    notes = []
    if not scope.source:
        notes.append("the source cluster (snapshot, rename): any cluster; give --source")
    if not scope.target:
        notes.append("the target and its instances: by the snapmigrate:run-id tag; give --target")
    if not scope.zone_id:
        notes.append("the Route 53 record: any hosted zone; give --dns-zone-id")
    if "in-place" in commands and not scope.source_instances:
        notes.append(
            "the source's instances (--path in-place removes its provisioned ones): any "
            "instance; give --plan-file (a v1 source has none before its conversion, which "
            "makes one AWS does not name)"
        )
    if not scope.source_writer:
        notes.append(
            "the source's writer (only --prepare-source reboots it): any instance; give --plan-file"
        )
    return notes

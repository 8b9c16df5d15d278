"""The least-privilege IAM policy, built from what each step declares it needs.

Each step lists its IAM actions (``permissions``, ``undo_permissions``);
``plan`` needs only the reads below. :mod:`snapmigrate.iam` decides which
resources each may touch, so no action that changes something is granted on
``"*"``. ``snapmigrate permissions`` prints the policy for the commands a user
will run, so nobody has to guess it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from snapmigrate.clone import workflow as clone
from snapmigrate.cutover.steps import CUTOVER
from snapmigrate.cutover.swap import SWAPS
from snapmigrate.errors import BadInput
from snapmigrate.iam import Scope, grants_for
from snapmigrate.inplace.workflow import IN_PLACE_WORKFLOW
from snapmigrate.migrate import MIGRATION, cleanup

#: What ``plan`` (and so ``migrate``, which plans first) reads.
PLAN_PERMISSIONS = (
    "rds:DescribeDBClusters",
    "rds:DescribeDBInstances",
    "rds:DescribeDBClusterSnapshots",
    "rds:DescribeDBClusterParameterGroups",
    "rds:DescribeDBEngineVersions",
    "rds:DescribeDBMajorEngineVersions",
    "route53:GetHostedZone",
    "route53:ListResourceRecordSets",
)

COMMANDS = ("plan", "migrate", "cleanup", "cutover", "rollback", "verify", "clone", "drill")
#: ``migrate --path in-place``: asked for by name (or by an in-place plan file), since it
#: changes the source itself.
IN_PLACE = "in-place"
CHOICES = (*COMMANDS, IN_PLACE)


@dataclass(frozen=True)
class Grant:
    """The IAM actions one part of a command needs."""

    command: str
    part: str
    actions: tuple[str, ...]


#: Only with IAM database authentication (``--iam-auth``).
IAM_AUTH_ACTIONS = frozenset({"rds-db:connect"})


def grants(commands: Iterable[str] = COMMANDS, *, iam_auth: bool = True) -> list[Grant]:
    """Per command and step, the actions it needs (``rds-db:connect`` with ``iam_auth``)."""
    dropped = frozenset() if iam_auth else IAM_AUTH_ACTIONS
    return [
        Grant(g.command, g.part, tuple(a for a in g.actions if a not in dropped))
        for g in _grants(commands)
    ]


def _grants(commands: Iterable[str]) -> list[Grant]:
    wanted = list(commands)
    unknown = [c for c in wanted if c not in CHOICES]
    if unknown:
        raise BadInput(
            f"no permissions known for {', '.join(unknown)}: choose from {', '.join(CHOICES)}"
        )
    found: list[Grant] = []
    if "plan" in wanted or "migrate" in wanted:
        found.append(Grant("plan", "read the source", PLAN_PERMISSIONS))
    if "migrate" in wanted:
        found += [
            Grant("migrate", name, actions) for name, actions in MIGRATION.permissions().items()
        ]
    if IN_PLACE in wanted:
        orderable = (*PLAN_PERMISSIONS, "rds:DescribeOrderableDBInstanceOptions")
        found.append(Grant(IN_PLACE, "read the source", orderable))
        found += [
            Grant(IN_PLACE, name, actions)
            for name, actions in IN_PLACE_WORKFLOW.permissions().items()
        ]
    if "cleanup" in wanted:
        found.append(Grant("cleanup", cleanup.NAME, cleanup.PERMISSIONS))
    if "verify" in wanted:
        found.append(
            Grant(
                "verify",
                "resolve clusters",
                ("rds:DescribeDBClusters", "secretsmanager:GetSecretValue"),
            )
        )
    if "clone" in wanted:
        found.append(Grant("clone", "read", clone.READS))
        found += [
            Grant("clone", name, actions) for name, actions in clone.CLONE.permissions().items()
        ]
        found.append(Grant("clone", "lease", clone.LEASE))
        found.append(Grant("clone", "destroy", clone.DESTROY))
    if "drill" in wanted:
        found.append(Grant("drill", "read", clone.READS))
        found += [
            Grant("drill", name, actions) for name, actions in clone.CLONE.permissions().items()
        ]
        copy = ("rds:CopyDBClusterSnapshot", "rds:AddTagsToResource", "kms:DescribeKey")
        found.append(Grant("drill", "copy to --to-region", (*copy, "kms:CreateGrant")))
        found.append(Grant("drill", "teardown", (*clone.DESTROY, "rds:DeleteDBClusterSnapshot")))
    for command in ("cutover", "rollback"):
        if command in wanted:
            reads = tuple(dict.fromkeys(a for s in CUTOVER.steps for a in s.permissions))
            found.append(Grant(command, "read", reads))
            found += [
                Grant(command, f"swap {mode}", swap.permissions) for mode, swap in SWAPS.items()
            ]
    return found


def _sid(grant: Grant) -> str:
    words = f"{grant.command} {grant.part}".replace("-", " ").split()
    return "Snapmigrate" + "".join(w.capitalize() for w in words)


def policy(commands: Iterable[str] = COMMANDS, scope: Scope | None = None) -> dict[str, Any]:
    """An IAM policy document: per step, its reads on ``"*"`` and each change scoped to
    the resources it touches (:mod:`snapmigrate.iam`); every (action, resource) once."""
    scope = scope or Scope()
    seen: set[tuple[str, tuple[str, ...], str]] = set()
    statements = []
    for grant in grants(commands, iam_auth=scope.iam_auth):
        where: dict[tuple[tuple[str, ...], str], list[str]] = {}
        for action in sorted(set(grant.actions)):
            for access in grants_for(grant.command, grant.part, action, scope):
                condition = json.dumps(access.condition, sort_keys=True) if access.condition else ""
                if (action, access.resources, condition) in seen:
                    continue
                seen.add((action, access.resources, condition))
                where.setdefault((access.resources, condition), []).append(action)
        for n, ((resources, condition), actions) in enumerate(where.items()):
            statement: dict[str, Any] = {
                "Sid": _sid(grant) + (str(n + 1) if n else ""),
                "Effect": "Allow",
                "Action": actions,
                "Resource": resources[0] if len(resources) == 1 else list(resources),
            }
            if condition:
                statement["Condition"] = json.loads(condition)
            statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}

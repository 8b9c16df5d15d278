"""The least-privilege IAM policy, built from what each step declares it needs.

Each step module lists its IAM actions (``PERMISSIONS``, ``UNDO_PERMISSIONS``);
``plan`` needs only the reads below. ``snapmigrate permissions`` prints the
policy for the commands a user will run, so nobody has to guess it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from snapmigrate.cutover.steps import CUTOVER
from snapmigrate.cutover.swap import SWAPS
from snapmigrate.errors import BadInput
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

COMMANDS = ("plan", "migrate", "cleanup", "cutover", "rollback", "verify")


@dataclass(frozen=True)
class Grant:
    """The IAM actions one part of a command needs."""

    command: str
    part: str
    actions: tuple[str, ...]


def grants(commands: Iterable[str] = COMMANDS) -> list[Grant]:
    """Per command and step, the actions it needs."""
    wanted = list(commands)
    unknown = [c for c in wanted if c not in COMMANDS]
    if unknown:
        raise BadInput(
            f"no permissions known for {', '.join(unknown)}: choose from {', '.join(COMMANDS)}"
        )
    found: list[Grant] = []
    if "plan" in wanted or "migrate" in wanted:
        found.append(Grant("plan", "read the source", PLAN_PERMISSIONS))
    if "migrate" in wanted:
        found += [
            Grant("migrate", name, actions) for name, actions in MIGRATION.permissions().items()
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


def policy(commands: Iterable[str] = COMMANDS) -> dict[str, Any]:
    """An IAM policy document: one statement per step, every action once."""
    seen: set[str] = set()
    statements = []
    for grant in grants(commands):
        actions = sorted(a for a in set(grant.actions) if a not in seen)
        seen.update(actions)
        if actions:
            statements.append(
                {"Sid": _sid(grant), "Effect": "Allow", "Action": actions, "Resource": "*"}
            )
    return {"Version": "2012-10-17", "Statement": statements}

"""The cutover's guardrails as pure decisions: facts in, a pass/fail line out.

Every check runs before anything changes; the guardrails step gathers the
facts (AWS, the databases) and asks these functions. None of them calls AWS
or PostgreSQL, so each is a two-line test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from snapmigrate.aws.route53 import Record as DnsRecord
from snapmigrate.aws.route53 import same_host
from snapmigrate.cutover.state import Guardrail
from snapmigrate.db.freeze import LongTransaction
from snapmigrate.errors import PreflightBlocked


def target_available(
    target_id: str, status: str | None, instances: Sequence[Mapping[str, Any]]
) -> Guardrail:
    """The target cluster and every one of its instances are ``available``."""
    busy = [
        f"{i['DBInstanceIdentifier']} {i.get('DBInstanceStatus')}"
        for i in instances
        if i.get("DBInstanceStatus") != "available"
    ]
    if status != "available" or busy or not instances:
        what = f"cluster {status}"
        what += f"; instances {', '.join(busy)}" if busy else ""
        what += "" if instances else "; no instance"
        return Guardrail("target available", False, f"{target_id}: {what}")
    return Guardrail(
        "target available", True, f"{target_id} and its {len(instances)} instance(s) are available"
    )


def long_transactions(found: Sequence[LongTransaction], limit_s: float) -> Guardrail:
    """No source transaction open longer than ``limit_s`` (it would block the freeze)."""
    if found:
        listed = ", ".join(
            f"pid {t.pid} ({t.user}@{t.database}, {t.seconds:.0f} s)" for t in found[:5]
        )
        return Guardrail(
            "long transactions", False, f"{len(found)} open longer than {limit_s:.0f} s: {listed}"
        )
    return Guardrail(
        "long transactions", True, f"none open longer than {limit_s:.0f} s on the source"
    )


def dns_record(record: DnsRecord, source_endpoint: str | None, target_endpoint: str) -> Guardrail:
    """The record clients use points at the source -- or at the target, on a resume."""
    name = record.host
    if same_host(record.value, source_endpoint) or same_host(record.value, target_endpoint):
        return Guardrail(
            "dns record", True, f"{name} (TTL {record.ttl} s) points at {record.value}"
        )
    return Guardrail(
        "dns record", False, f"{name} points at {record.value}, neither the source nor the target"
    )


def rename_collision(
    source: str,
    old: str,
    run_id: str,
    *,
    old_exists: bool,
    old_is_target: bool,
    source_is_foreign: bool,
) -> str | None:
    """Why the rename names are not as this run expects (bad input), or None.

    Half way -- the target already on the source's name, the source on the old
    name -- is a resume, not a collision.
    """
    if old_is_target:
        return (
            f"{old} is this run's target: the clusters are in an unexpected state; "
            f"run 'snapmigrate rollback {run_id}'"
        )
    if old_exists and source_is_foreign:
        return (
            f"both {source} and {old} exist and neither is this run's target: "
            "a name collision; rename one away first"
        )
    return None


def rename_sharing(
    cluster_id: str, shares: Sequence[str] | None, cross_account_clone: bool
) -> Guardrail:
    """A warning when the renamed source is shared through AWS RAM, is a cross-account
    clone, or its sharing cannot be read: AWS documents nothing about renaming such a
    cluster, and other accounts' clones and policies name it."""
    name = "sharing"
    if cross_account_clone:
        return Guardrail(
            name,
            True,
            f"{cluster_id} is a clone of a cluster another account owns (CrossAccountClone): "
            "AWS documents nothing about renaming one; rehearse it, or use --mode dns",
            warn=True,
        )
    if shares:
        return Guardrail(
            name,
            True,
            f"{cluster_id} is shared through AWS RAM ({', '.join(shares)}): the accounts it is "
            "shared with see it renamed, and AWS documents nothing about renaming a shared "
            "cluster; stop sharing it first, or use --mode dns",
            warn=True,
        )
    if shares is None:
        return Guardrail(
            name,
            True,
            f"could not read whether {cluster_id} is shared through AWS RAM "
            "(ram:GetResourceShareAssociations): make sure it is not before renaming it",
            warn=True,
        )
    return Guardrail(name, True, f"{cluster_id} is not shared through AWS RAM")


def left_behind(cluster_id: str, instances: Sequence[str], custom: Sequence[str]) -> Guardrail:
    """What a rename does not move: instance identifiers and endpoints, custom endpoints.
    "When you change the DB cluster identifier, the DB cluster endpoints change. The
    endpoints of the DB instances in the DB cluster don't change."
    https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.Modifying.html
    https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.Endpoints.Custom.Considerations.html
    """
    stay = []
    if instances:
        stay.append(f"instance endpoints of {', '.join(instances)}")
    if custom:
        stay.append(f"custom endpoints {', '.join(custom)} (a restore has none: recreate them)")
    if not stay:
        return Guardrail(
            "not moved", True, f"clients use only {cluster_id}'s cluster endpoints: all move"
        )
    return Guardrail(
        "not moved",
        True,
        f"a rename moves only the cluster endpoints: clients of the {'; '.join(stay)} stay "
        f"on the old cluster",
        warn=True,
    )


def managed_password(
    user: str | None, target_secret: str | None, source_secret: str | None
) -> Guardrail | None:
    """A warning when the target's master password is managed: a new password in a new
    secret, so applications using the source's password or secret must switch."""
    if not target_secret:
        return None
    was = f" (not the source's {source_secret})" if source_secret else ""
    return Guardrail(
        "master password",
        True,
        f"{user or 'the master user'} has a NEW password on the target, in secret "
        f"{target_secret}{was}: applications logging in with the source's password or "
        "secret must switch to it",
        warn=True,
    )


def postponed(flag: str | None, waited_s: float) -> Guardrail:
    """The ``--postpone-flag`` file is absent (after waiting ``waited_s`` for it)."""
    if not flag:
        return Guardrail("postpone flag", True, "none given")
    waited = f" (waited {waited_s:.0f} s)" if waited_s else ""
    return Guardrail("postpone flag", True, f"{flag} absent{waited}")


def verdict(checks: Sequence[Guardrail]) -> str:
    """The guardrails' outcome line, or :class:`PreflightBlocked` (exit 4) naming the failed."""
    failed = [c for c in checks if not c.passed]
    if failed:
        listed = "; ".join(f"{c.name}: {c.message}" for c in failed)
        raise PreflightBlocked(f"{len(failed)} guardrail(s) failed, nothing was changed: {listed}")
    warned = sum(c.warn for c in checks)
    return f"{len(checks)} checks passed" + (f" ({warned} warning(s): read them)" if warned else "")


def line(check: Guardrail) -> str:
    """How a check is shown while the cutover runs."""
    mark = "FAIL" if not check.passed else "WARN" if check.warn else "ok  "
    return f"  {mark} {check.name}: {check.message}"

"""``clone reset``: a fresh copy under the same name -- so the same endpoint, and
the users' connection settings keep working. Aurora has no reset: the clone is
deleted and made again from its source (copy-on-write clones again by
copy-on-write), with its lease, owner and masking rules. Everything is checked
before the deletion; the deletion takes no final snapshot (a clone is
disposable by declaration).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from snapmigrate.aws import rds
from snapmigrate.clone import destroy, lease
from snapmigrate.clone.discover import require_clone
from snapmigrate.clone.journal import rules_path
from snapmigrate.clone.options import Acu, CloneOptions
from snapmigrate.clone.rules import MaskRules
from snapmigrate.clone.runner import ClonePlan, CloneRunner, Confirm, read_rules
from snapmigrate.clone.spec import fail_if_blocked
from snapmigrate.clone.view import CreateResult
from snapmigrate.errors import BadInput
from snapmigrate.model import TAG_EXPIRES_AT, TAG_OWNER, TAG_PROTECTED_UNTIL

#: Tags a reset clone keeps from the one it replaces.
KEPT = (TAG_EXPIRES_AT, TAG_PROTECTED_UNTIL, TAG_OWNER, lease.TAG_CREATED_AT)


def options_for(
    cluster: rds.Resource, readers: int, to: str, now: datetime
) -> tuple[CloneOptions, dict[str, str]]:
    """The clone's own options again (``to``: ``latest`` or an ISO 8601 time, which
    makes it a point-in-time restore), and the tags it keeps."""
    tags = rds.tags_of(cluster)
    name = str(cluster["DBClusterIdentifier"])
    source = tags.get("snapmigrate:source")
    if not source:
        raise BadInput(f"clone {name} has no snapmigrate:source tag: cannot tell what to reset to")
    method = tags.get(lease.TAG_METHOD, "cow")
    when = None
    if to != "latest":
        when = lease.parse_instant(to, "--to")
        if when > now:
            raise BadInput(f"--to {to} is in the future")
        method = "pitr"
    scaling = cluster.get("ServerlessV2ScalingConfiguration") or {}
    acu = (
        Acu(float(scaling["MinCapacity"]), float(scaling["MaxCapacity"]))
        if "MinCapacity" in scaling and "MaxCapacity" in scaling
        else None
    )
    options = CloneOptions(
        source=source,
        name=name,
        method=method,
        restore_time=when,
        latest=when is None and method != "snapshot",
        acu=acu,
        readers=readers,
    )
    return options, {k: tags[k] for k in KEPT if k in tags}


def mask_rules(
    runner: CloneRunner, name: str, digest: str, mask_file: str | None
) -> MaskRules | None:
    """The rules to apply again: ``--mask`` if given, else the copy kept at create
    (its digest must be the clone's tag). A masked clone is never made unmasked."""
    if mask_file:
        return read_rules(mask_file)
    if digest in ("", "none"):
        return None
    kept = rules_path(runner.journal, name)
    if not kept.exists():
        raise BadInput(
            f"clone {name} was masked (rules {digest}) and {kept} is not here: give the "
            "rules with --mask RULES.toml; nothing was changed"
        )
    found = read_rules(str(kept))
    if found.digest != digest:
        raise BadInput(
            f"{kept} holds rules {found.digest}, but clone {name} was masked with {digest}: "
            "give the rules with --mask RULES.toml; nothing was changed"
        )
    return found


def reset(
    runner: CloneRunner,
    name: str,
    to: str = "latest",
    *,
    mask_file: str | None = None,
    confirm: Confirm | None = None,
    on_plan: Callable[[ClonePlan], None] | None = None,
) -> CreateResult:
    """Check, show, ask, delete ``name``, make it again (masked again), prove."""
    aws = runner.aws
    cluster, seen = require_clone(aws, name)
    now = runner.now()
    why = lease.refusal(seen, now, what="reset")
    if why:
        raise BadInput(why)
    instances = rds.list_instances(aws, name)
    readers = sum(rds.tags_of(i).get(lease.TAG_CLONE_ROLE) == "reader" for i in instances)
    options, keep = options_for(cluster, readers, to, now)
    found = mask_rules(runner, name, rds.tags_of(cluster).get(lease.TAG_MASK, ""), mask_file)
    shown, _, mask = runner.plan(options, found, replacing=True, keep=keep)
    if on_plan is not None:
        on_plan(shown)
    fail_if_blocked(shown.findings)
    doomed = destroy.check(aws, [name], now)
    question = (
        f"Reset clone {name}: delete it (no final snapshot: everything in it is lost) and "
        f"make it again from {options.source} ({to})?"
    )
    if confirm is not None and not confirm(question):
        raise BadInput("not reset: nothing was changed")
    destroy.destroy(aws, doomed, runner.waiter, runner.settings, stamp=runner.stamp)
    return runner.apply(shown, mask, found.text if found else None)

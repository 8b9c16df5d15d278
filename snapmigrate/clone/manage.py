"""The clones that exist: list them, move their lease (``extend``, ``protect``,
``unprotect``), destroy one, sweep the expired (``gc``). Tags are read afresh
every time; every decision is :mod:`.lease`'s."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from snapmigrate.aws import Aws, rds
from snapmigrate.clone import destroy as doom
from snapmigrate.clone.context import CloneSettings
from snapmigrate.clone.discover import all_clusters, caller_arn, require_clone
from snapmigrate.clone.lease import Kept, Lease, iso, refusal, sweep
from snapmigrate.clone.spec import owner_tag
from snapmigrate.clone.view import CloneAnswer, CloneInfo, DestroyResult, ListedClone, ListResult
from snapmigrate.errors import BadInput
from snapmigrate.model import TAG_EXPIRES_AT, TAG_PROTECTED_UNTIL
from snapmigrate.waiting import Waiter

log = logging.getLogger(__name__)

#: ``confirm(question) -> yes?``; None means ``--yes``.
Confirm = Callable[[str], bool]


def list_clones(
    aws: Aws, now: datetime, *, source: str | None = None, all_owners: bool = False
) -> ListResult:
    """The region's clones: the caller's own (by the owner tag), or everyone's."""
    owner = caller_arn(aws)
    mine = owner_tag(owner) if owner else None
    if not all_owners and mine is None:
        raise BadInput(
            "cannot tell who is calling (STS did not answer), so not whose clones are "
            "yours: pass --all-owners"
        )
    found = []
    for cluster in all_clusters(aws):
        tags = rds.tags_of(cluster)
        seen = Lease.of(str(cluster.get("DBClusterIdentifier")), tags)
        if not seen.is_clone or (source and seen.source != source):
            continue
        if not all_owners and seen.owner != mine:
            continue
        found.append(ListedClone.of(cluster, now))
    return ListResult(tuple(sorted(found, key=lambda c: c.name)), owner, all_owners)


def _retag(aws: Aws, name: str, add: dict[str, str], remove: tuple[str, ...] = ()) -> CloneInfo:
    cluster, _ = require_clone(aws, name)
    arn = cluster.get("DBClusterArn", name)
    if add:
        aws.call(
            f"tag {name}",
            aws.rds().add_tags_to_resource,
            ResourceName=arn,
            Tags=[{"Key": k, "Value": v} for k, v in add.items()],
        )
    if remove:
        aws.call(
            f"untag {name}",
            aws.rds().remove_tags_from_resource,
            ResourceName=arn,
            TagKeys=list(remove),
        )
    return CloneInfo.of(require_clone(aws, name)[0])


def extend(aws: Aws, name: str, until: datetime) -> CloneAnswer:
    """The clone now expires at ``until`` (now + ``--ttl``)."""
    return CloneAnswer(_retag(aws, name, {TAG_EXPIRES_AT: iso(until)}))


def protect(aws: Aws, name: str, until: datetime) -> CloneAnswer:
    """Neither ``destroy`` nor ``gc`` nor ``reset`` touches the clone before ``until``."""
    return CloneAnswer(_retag(aws, name, {TAG_PROTECTED_UNTIL: iso(until)}))


def unprotect(aws: Aws, name: str) -> CloneAnswer:
    return CloneAnswer(_retag(aws, name, {}, (TAG_PROTECTED_UNTIL,)))


def destroy_one(
    aws: Aws,
    name: str,
    waiter: Waiter,
    settings: CloneSettings,
    now: datetime,
    confirm: Confirm | None,
    stamp: Callable[[], str],
) -> DestroyResult:
    """Refuse a protected clone or anything not a clone (exit 2, nothing changed); ask;
    delete; return once it is gone."""
    _, seen = require_clone(aws, name)
    why = refusal(seen, now)
    if why:
        raise BadInput(why)
    doomed = doom.check(aws, [name], now)
    if confirm is not None and not confirm(
        f"Destroy clone {name} (of {seen.source}) and its instances, without a final snapshot?"
    ):
        raise BadInput("not destroyed: nothing was changed")
    return DestroyResult(doom.destroy(aws, doomed, waiter, settings, stamp=stamp))


def gc(
    aws: Aws,
    waiter: Waiter,
    settings: CloneSettings,
    now: datetime,
    *,
    dry_run: bool,
    confirm: Confirm | None,
    stamp: Callable[[], str],
) -> DestroyResult:
    """Destroy every expired, unprotected clone the caller may see; say what stays and why."""
    clusters = [c for c in all_clusters(aws) if rds.tags_of(c)]
    leases = [
        (Lease.of(str(c.get("DBClusterIdentifier")), rds.tags_of(c)), str(c.get("Status")))
        for c in clusters
    ]
    chosen = sweep(leases, now)
    if dry_run or not chosen.destroy:
        return DestroyResult(chosen.destroy, chosen.kept, dry_run=dry_run, gc=True)
    if confirm is not None and not confirm(
        f"Destroy {len(chosen.destroy)} expired clone(s): {', '.join(chosen.destroy)}?"
    ):
        raise BadInput("not collected: nothing was changed")
    doomed, kept = [], list(chosen.kept)
    for name in chosen.destroy:
        try:
            doomed += doom.check(aws, [name], now)  # read again: protected since the list?
        except BadInput as e:
            kept.append(_kept(name, str(e)))
    gone = doom.destroy(aws, doomed, waiter, settings, stamp=stamp)
    return DestroyResult(gone, tuple(kept), dry_run=False, gc=True)


def _kept(name: str, why: str) -> Kept:
    return Kept(name, f"changed since it was listed: {why}")

"""A clone's plan: what AWS holds (:class:`Basis`, read by :mod:`.discover`), the
preflight's findings, and the :class:`CloneSpec` the steps apply. Pure: records
in, records out -- each rule is a small test without AWS.

Facts from the AWS documentation this follows:

- a copy-on-write clone needs a source with at least one DB instance, is made in
  the source's region only, holds no instance, and takes no restore time:
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.Managing.Clone.html
- the scaling configuration must be on the cluster before its first
  db.serverless instance; RestoreDBClusterToPointInTime takes it:
  https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_RestoreDBClusterToPointInTime.html
- a restore gets the default security group unless given the source's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from snapmigrate.clone import lease
from snapmigrate.clone.options import CloneOptions
from snapmigrate.errors import BadInput, PreflightBlocked
from snapmigrate.model import (
    KIND_CLONE,
    TAG_EXPIRES_AT,
    TAG_FINAL_SNAPSHOT,
    TAG_KIND,
    TAG_OWNER,
    TAG_SOURCE,
    EngineFacts,
    Finding,
    InstanceSpec,
    Level,
    Snapshot,
    SourceCluster,
    V2Scaling,
)
from snapmigrate.records import Record

SERVERLESS = "db.serverless"
#: Ask AWS to pause an idle clone as early as it allows (0 ACU minimum).
AUTO_PAUSE_S = 300
#: Say so when a create leaves less headroom than this under a quota.
QUOTA_HEADROOM = 0.9
#: Findings whose ``block`` means the input was wrong (exit 2), not AWS (exit 4).
INPUT_CODES = frozenset({"clone-name", "clone-acu", "clone-restore-time", "clone-snapshot"})


@dataclass(frozen=True)
class Quota:
    """One of the account's quotas, as DescribeAccountAttributes reports it."""

    name: str
    used: int
    max: int


@dataclass(frozen=True)
class Basis:
    """What AWS said, for one clone: read-only facts, no decision yet."""

    source: SourceCluster
    facts: EngineFacts
    region: str
    now: datetime
    name_taken: Mapping[str, str] | None = None  # the tags of a cluster holding the name
    owner: str | None = None
    quotas: tuple[Quota, ...] = ()
    quota_note: str | None = None
    snapshot: Snapshot | None = None
    earliest_restorable: datetime | None = None
    latest_restorable: datetime | None = None
    #: ``reset``: the name is held by the clone being replaced.
    replacing: bool = False


@dataclass(frozen=True)
class CloneSpec(Record):
    """Everything the clone will be: the steps' shared inputs."""

    name: str
    source: str
    method: str
    run_id: str
    engine: str
    engine_version: str
    scaling: V2Scaling
    instances: tuple[InstanceSpec, ...]
    port: int = 5432
    snapshot: str | None = None
    restore_time: str | None = None  # ISO 8601: the data is the source's as of then
    latest: bool = True  # restored at the latest restorable time (restore_time: as read before)
    subnet_group: str | None = None
    security_group_ids: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def writer(self) -> InstanceSpec:
        return next(i for i in self.instances if i.role == "writer")

    def instance_tags(self, role: str) -> dict[str, str]:
        kept = (TAG_KIND, TAG_SOURCE, lease.TAG_CLONE_RUN, TAG_OWNER)
        return {**{k: v for k, v in self.tags.items() if k in kept}, lease.TAG_CLONE_ROLE: role}


class Findings:
    """The preflight's findings, in order (as ``plan`` makes them)."""

    def __init__(self) -> None:
        self.items: list[Finding] = []

    def add(self, level: Level, code: str, message: str) -> None:
        self.items.append(Finding(level=level, code=code, message=message))


def fail_if_blocked(findings: tuple[Finding, ...]) -> None:
    """Bad input (exit 2) or a blocked preflight (exit 4), before anything is created."""
    blocks = [x for x in findings if x.level == "block"]
    if not blocks:
        return
    bad = [x for x in blocks if x.code in INPUT_CODES]
    if bad:
        raise BadInput(f"{bad[0].message}; nothing was created")
    raise PreflightBlocked(
        f"preflight blocked the clone ({len(blocks)} blocking finding(s)); first: "
        f"[{blocks[0].code}] {blocks[0].message}; nothing was created"
    )


def preflight(
    options: CloneOptions, basis: Basis, run_id: str, mask: str = "none"
) -> tuple[CloneSpec, tuple[Finding, ...]]:
    """The clone's spec and what the preflight found (``fail_if_blocked`` decides)."""
    f = Findings()
    src = basis.source
    _check_source(options, basis, f)
    _check_name(options, basis, f)
    _check_method(options, basis, f)
    check_restore_window(options, basis, f)
    scaling = _scaling(options, basis.facts, f)
    _check_quotas(options, basis, f)
    if basis.owner is None:
        f.add(
            "warn", "clone-owner", "the caller's ARN is unknown (STS did not answer): owner unset"
        )
    snapshot = basis.snapshot if options.method == "snapshot" else None
    version = snapshot.engine_version if snapshot else src.engine_version
    restore_time = _restore_time(options, basis)
    instances = (
        InstanceSpec(f"{options.name}-writer", SERVERLESS, None, 0, "writer"),
        *(
            InstanceSpec(f"{options.name}-reader-{n}", SERVERLESS, None, 1, "reader")
            for n in range(1, options.readers + 1)
        ),
    )
    spec = CloneSpec(
        name=options.name,
        source=src.identifier,
        method=options.method,
        run_id=run_id,
        engine=src.engine,
        engine_version=version,
        scaling=scaling,
        instances=instances,
        port=src.port,
        snapshot=snapshot.identifier if snapshot else None,
        restore_time=restore_time,
        latest=options.latest,
        subnet_group=src.subnet_group,
        security_group_ids=src.security_group_ids,
        tags=tags(options, basis, run_id, restore_time, mask),
    )
    return spec, tuple(f.items)


def tags(
    options: CloneOptions, basis: Basis, run_id: str, restore_time: str | None, mask: str
) -> dict[str, str]:
    """The clone's truth, on the cluster: kind, source, lease, owner, disposability."""
    found = {
        TAG_KIND: KIND_CLONE,
        TAG_SOURCE: basis.source.identifier,
        lease.TAG_METHOD: options.method,
        lease.TAG_CREATED_AT: lease.iso(basis.now),
        TAG_EXPIRES_AT: lease.iso(basis.now + options.ttl),
        TAG_FINAL_SNAPSHOT: "no",
        lease.TAG_CLONE_RUN: run_id,
        lease.TAG_STATE: "creating",
        lease.TAG_MASK: mask,
    }
    if basis.owner:
        found[TAG_OWNER] = owner_tag(basis.owner)
    if restore_time:
        found[lease.TAG_RESTORE_TIME] = restore_time
    if options.method == "snapshot" and basis.snapshot:
        found[lease.TAG_SNAPSHOT] = basis.snapshot.identifier
    return found


def owner_tag(arn: str) -> str:
    """An ARN as a tag value can hold it (letters, digits, spaces and ``_.:/=+-@``; 256)."""
    return "".join(c if c.isalnum() or c in " _.:/=+-@" else "_" for c in arn)[:256]


def _check_source(options: CloneOptions, basis: Basis, f: Findings) -> None:
    src = basis.source
    if src.engine != "aurora-postgresql":
        f.add(
            "block",
            "clone-source",
            f"{src.identifier} is {src.engine}: snapmigrate clones Aurora PostgreSQL",
        )
    elif src.status != "available" and options.method != "snapshot":
        f.add(
            "block",
            "clone-source",
            f"{src.identifier} is {src.status}, not available: wait, then clone",
        )
    else:
        f.add(
            "ok",
            "clone-source",
            f"{src.identifier}: Aurora PostgreSQL {src.engine_version}, available, in "
            f"{basis.region} (clones stay in the source's region)",
        )
    if not basis.facts.serverless_v2:
        f.add(
            "block",
            "clone-engine",
            f"{src.engine} {src.engine_version} has no Serverless v2: a clone runs db.serverless "
            "instances (upgrade the source, or migrate it)",
        )


def _check_name(options: CloneOptions, basis: Basis, f: Findings) -> None:
    held = basis.name_taken
    if basis.replacing:
        f.add("ok", "clone-name", f"{options.name} is this clone: deleted first, made again")
        return
    if held is None:
        f.add("ok", "clone-name", f"{options.name} is free")
        return
    whose = "a snapmigrate clone" if held.get(TAG_KIND) == KIND_CLONE else "a cluster"
    f.add(
        "block",
        "clone-name",
        f"--name {options.name} is taken by {whose}: choose another name (or 'snapmigrate clone "
        f"reset {options.name}')",
    )


def _check_method(options: CloneOptions, basis: Basis, f: Findings) -> None:
    src = basis.source
    if options.method == "cow":
        if src.engine_mode == "serverless":
            f.add(
                "block",
                "clone-method",
                f"{src.identifier} is Aurora Serverless v1: AWS clones it only as v1; use "
                "--method snapshot",
            )
        elif not src.instances:
            f.add(
                "block",
                "clone-method",
                f"{src.identifier} has no DB instance: AWS clones only clusters with at least "
                "one; use --method snapshot or pitr",
            )
        else:
            f.add(
                "ok",
                "clone-method",
                "copy-on-write clone of the latest data: minutes whatever the size (AWS may make "
                "a full copy past its copy-on-write limit)",
            )
    elif options.method == "pitr":
        if src.engine_mode == "serverless":
            f.add(
                "block",
                "clone-method",
                f"{src.identifier} is Aurora Serverless v1: use --method snapshot",
            )
        else:
            f.add("ok", "clone-method", "point-in-time restore: a full copy (slower than a clone)")
    else:
        snap = basis.snapshot
        if snap is None:
            what = options.snapshot or f"automated snapshot of {src.identifier}"
            f.add("block", "clone-snapshot", f"no {what} found: give --snapshot ID")
        elif snap.cluster_identifier and snap.cluster_identifier != src.identifier:
            f.add(
                "block",
                "clone-snapshot",
                f"snapshot {snap.identifier} is of {snap.cluster_identifier}, not of "
                f"{src.identifier}",
            )
        elif snap.status != "available":
            f.add(
                "block",
                "clone-method",
                f"snapshot {snap.identifier} is {snap.status}: wait until it is available",
            )
        else:
            f.add(
                "ok",
                "clone-method",
                f"restore snapshot {snap.identifier} ({snap.snapshot_type}, taken "
                f"{snap.created or 'at an unknown time'}): a full copy",
            )


def _restore_time(options: CloneOptions, basis: Basis) -> str | None:
    """The clone's data is the source's as of: the request (a copy-on-write clone shares
    the volume as it is then), the time asked, the latest restorable time, the snapshot's."""
    if options.method == "snapshot":
        return basis.snapshot.created if basis.snapshot else None
    if options.restore_time is not None:
        return lease.iso(options.restore_time)
    if options.method == "pitr" and basis.latest_restorable is not None:
        return lease.iso(basis.latest_restorable)
    return lease.iso(basis.now)


def _scaling(options: CloneOptions, facts: EngineFacts, f: Findings) -> V2Scaling:
    """0-4 ACU where the version pauses (a clone should cost nothing idle), else 0.5-4."""
    low = options.acu.min if options.acu else (0.0 if facts.auto_pause else 0.5)
    high = options.acu.max if options.acu else 4.0
    name = f"{facts.engine} {facts.version}"
    if low == 0 and not facts.auto_pause:
        f.add(
            "block",
            "clone-acu",
            f"--acu {low:g}-{high:g}: {name} cannot pause, so its minimum is 0.5 ACU",
        )
    elif high > facts.max_capacity_ceiling:
        f.add(
            "block",
            "clone-acu",
            f"--acu {low:g}-{high:g}: {name} scales to {facts.max_capacity_ceiling:g} ACU at most",
        )
    else:
        idle = "pauses when idle" if low == 0 else f"idles at {low:g} ACU"
        f.add("ok", "clone-acu", f"Serverless v2 {low:g}-{high:g} ACU ({idle})")
    pause = AUTO_PAUSE_S if low == 0 else None
    return V2Scaling(low, high, pause)


def _check_quotas(options: CloneOptions, basis: Basis, f: Findings) -> None:
    needs = {"DBClusters": 1, "DBInstances": 1 + options.readers}
    if basis.replacing:
        needs = {}  # reset deletes first
    if not basis.quotas:
        f.add(
            "warn",
            "clone-quota",
            f"account quotas unknown ({basis.quota_note or 'not reported'}): DB clusters per "
            "region (40 by default) not checked",
        )
        return
    for quota in basis.quotas:
        need = needs.get(quota.name)
        if need is None:
            continue
        after = quota.used + need
        where = f"{quota.name}: {quota.used} of {quota.max} used in {basis.region}"
        if after > quota.max:
            f.add(
                "block",
                "clone-quota",
                f"{where}; this clone needs {need} more: destroy clones ('snapmigrate clone gc') "
                "or raise the quota",
            )
        elif after >= QUOTA_HEADROOM * quota.max:
            f.add("warn", "clone-quota", f"{where}; this clone leaves {quota.max - after}")
        else:
            f.add("ok", "clone-quota", f"{where}")


def check_restore_window(options: CloneOptions, basis: Basis, f: Findings) -> None:
    """A ``--restore-time`` within the source's restorable window (exit 2 otherwise)."""
    when = options.restore_time
    if when is None:
        return
    low, high = basis.earliest_restorable, basis.latest_restorable
    if when > basis.now:
        f.add("block", "clone-restore-time", f"--restore-time {lease.iso(when)} is in the future")
    elif low is not None and high is not None and not _floor(low) <= when <= high:
        f.add(
            "block",
            "clone-restore-time",
            f"--restore-time {lease.iso(when)} is outside what {basis.source.identifier} can "
            f"restore: {lease.iso(low)} to {lease.iso(high)}",
        )


def _floor(when: datetime) -> datetime:
    """To the second: restore times are given in seconds."""
    return when.replace(microsecond=0)

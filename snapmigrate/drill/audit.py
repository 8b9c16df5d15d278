"""``drill audit``: is SOURCE ready for a recovery -- without restoring and without
creating anything (read-only calls). :func:`read_facts` asks AWS, :func:`findings`
decides (pure: a test per rule without AWS).

- backup retention 1 to 35 days; automated snapshots are daily:
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.Managing.Backups.html
- copies in the DR region, five copy requests in flight per destination region,
  a KMS key of the destination region for an encrypted snapshot:
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-copy-snapshot.html
- 100 manual cluster snapshots per region by default (DescribeAccountAttributes):
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/CHAP_Limits.html
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from snapmigrate.aws import Aws, rds
from snapmigrate.clone.discover import quotas
from snapmigrate.drill.recovery import snapshots, source_cluster, when
from snapmigrate.drill.region import MAX_COPIES_IN_FLIGHT, copies_in_flight
from snapmigrate.model import Finding, Level
from snapmigrate.progress import duration

#: Automated snapshots are daily: older than this, one was missed.
DAILY = timedelta(hours=26)
#: A week of point-in-time recovery, at least, is what we ask for.
RETENTION_DAYS = 7
#: Say so when fewer manual snapshots than this remain under the quota.
SNAPSHOT_HEADROOM = 10


@dataclass(frozen=True)
class AuditFacts:
    """What AWS holds for a drill of one source (read-only)."""

    source: str
    now: datetime
    retention_days: int
    deletion_protection: bool
    encrypted: bool
    newest_automated: datetime | None
    newest_manual: datetime | None
    to_region: str | None = None
    newest_copy: datetime | None = None
    copies: int = 0
    in_flight: int = 0
    kms_key: str | None = None
    kms_state: str | None = None  # the key's state in the DR region; None: not asked
    manual_used: int | None = None
    manual_max: int | None = None


@dataclass(frozen=True)
class AuditResult:
    source: str
    findings: tuple[Finding, ...]

    @property
    def blocked(self) -> bool:
        return any(f.level == "block" for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "findings": [f.to_dict() for f in self.findings]}


def _newest(items: list[rds.Resource], kind: str) -> datetime | None:
    times = [when(s.get("SnapshotCreateTime")) for s in items if s.get("SnapshotType") == kind]
    return max((t for t in times if t is not None), default=None)


def read_facts(
    aws: Aws, dest: Aws | None, source: str, now: datetime, kms_key: str | None = None
) -> AuditFacts:
    cluster = source_cluster(aws, source)
    snaps = snapshots(aws, source)
    found_quotas, _ = quotas(aws, ("ManualClusterSnapshots",))
    manual = next((q for q in found_quotas if q.name == "ManualClusterSnapshots"), None)
    facts = AuditFacts(
        source=source,
        now=now,
        retention_days=int(cluster.get("BackupRetentionPeriod") or 0),
        deletion_protection=bool(cluster.get("DeletionProtection")),
        encrypted=bool(cluster.get("StorageEncrypted")),
        newest_automated=_newest(snaps, "automated"),
        newest_manual=_newest(snaps, "manual"),
        manual_used=manual.used if manual else None,
        manual_max=manual.max if manual else None,
    )
    if dest is None:
        return facts
    copies = [
        s
        for s in dest.each(
            f"describe the snapshots in {dest.region}",
            dest.rds().describe_db_cluster_snapshots,
            "DBClusterSnapshots",
        )
        if s.get("DBClusterIdentifier") == source and s.get("Status") == "available"
    ]
    times = [t for t in (when(s.get("SnapshotCreateTime")) for s in copies) if t is not None]
    kms_state = None
    if kms_key:
        try:
            key = dest.call(
                f"describe KMS key {kms_key} in {dest.region}",
                dest.client("kms").describe_key,
                retry=False,
                KeyId=kms_key,
            )
            kms_state = str(key["KeyMetadata"].get("KeyState", "unknown"))
        except Exception as e:  # not found, denied: the key is not usable from here
            kms_state = f"not usable ({(str(e).splitlines() or ['?'])[0][:100]})"
    return AuditFacts(
        **{
            **facts.__dict__,
            "to_region": dest.region,
            "newest_copy": max(times, default=None),
            "copies": len(copies),
            "in_flight": copies_in_flight(dest),
            "kms_key": kms_key,
            "kms_state": kms_state,
        }
    )


def _age(facts: AuditFacts, then: datetime) -> str:
    return duration((facts.now - then).total_seconds())


def findings(facts: AuditFacts) -> tuple[Finding, ...]:
    """The audit's findings, in order; ``block`` where a recovery would fail."""
    out: list[Finding] = []

    def add(level: Level, code: str, message: str) -> None:
        out.append(Finding(level, code, message))

    days = facts.retention_days
    level: Level = "ok" if days >= RETENTION_DAYS else "warn" if days >= 1 else "block"
    add(level, "backup-retention", f"backups kept {days} day(s) (point-in-time window)")
    auto, manual = facts.newest_automated, facts.newest_manual
    if auto is None:
        add("warn", "automated-snapshot", "no automated snapshot: restores rely on manual ones")
    else:
        stale = facts.now - auto > DAILY
        add(
            "warn" if stale else "ok",
            "automated-snapshot",
            f"newest automated snapshot is {_age(facts, auto)} old"
            + (" (they are daily: one was missed)" if stale else ""),
        )
    if manual is None:
        add("warn", "manual-snapshot", "no manual snapshot (kept until deleted, unlike backups)")
    else:
        add("ok", "manual-snapshot", f"newest manual snapshot is {_age(facts, manual)} old")
    if auto is None and manual is None and days < 1:
        add("block", "recovery-point", "no snapshot and no backup: nothing to restore")
    if facts.manual_used is not None and facts.manual_max is not None:
        left = facts.manual_max - facts.manual_used
        add(
            "warn" if left < SNAPSHOT_HEADROOM else "ok",
            "snapshot-quota",
            f"{facts.manual_used} of {facts.manual_max} manual cluster snapshots used",
        )
    else:
        add("warn", "snapshot-quota", "manual snapshot quota unknown (not reported)")
    add(
        "ok" if facts.deletion_protection else "warn",
        "deletion-protection",
        f"deletion protection {'on' if facts.deletion_protection else 'off'}",
    )
    if facts.to_region is not None:
        _region(facts, add)
    return tuple(out)


def _region(facts: AuditFacts, add: Any) -> None:
    region = facts.to_region
    if facts.newest_copy is None:
        add(
            "block",
            "dr-copy",
            f"no copy of {facts.source}'s snapshots in {region}: a "
            "recovery there has nothing to restore (copy them: CopyDBClusterSnapshot called in "
            f"{region}, or an AWS Backup copy rule)",
        )
    else:
        stale = facts.now - facts.newest_copy > DAILY
        add(
            "warn" if stale else "ok",
            "dr-copy",
            f"{facts.copies} copy(ies) in {region}, newest {_age(facts, facts.newest_copy)} old",
        )
    left = MAX_COPIES_IN_FLIGHT - facts.in_flight
    add(
        "ok" if left > 0 else "warn",
        "copy-quota",
        f"{facts.in_flight} of {MAX_COPIES_IN_FLIGHT} snapshot copies in flight to {region}",
    )
    if not facts.encrypted:
        add("ok", "dr-kms", "storage not encrypted: no KMS key needed in " + str(region))
    elif facts.kms_key is None:
        add("warn", "dr-kms", f"encrypted: a copy to {region} needs --kms-key of {region}")
    elif facts.kms_state == "Enabled":
        add("ok", "dr-kms", f"KMS key {facts.kms_key} is enabled in {region}")
    else:
        add("block", "dr-kms", f"KMS key {facts.kms_key} in {region}: {facts.kms_state}")

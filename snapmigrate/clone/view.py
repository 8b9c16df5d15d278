"""How a clone shows itself: the records the commands return and render as JSON
(their keys are a contract, docs/clone.md) -- built from what AWS describes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from snapmigrate.clone import lease
from snapmigrate.clone.lease import Kept, Lease
from snapmigrate.errors import BadInput
from snapmigrate.model import TAG_EXPIRES_AT, TAG_OWNER, TAG_PROTECTED_UNTIL, TAG_SOURCE

Resource = Mapping[str, Any]


def _tags(cluster: Resource) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in cluster.get("TagList") or []}


@dataclass(frozen=True)
class CloneInfo:
    """The ``clone`` object of ``create``, ``reset``, ``extend``, ``protect``, ``unprotect``."""

    name: str
    source: str | None
    method: str | None
    restore_time: str | None
    endpoint: str | None
    port: int
    database_names: tuple[str, ...]
    expires_at: str | None
    protected_until: str | None
    owner: str | None
    #: Beyond the contract's keys: the readiness tag and the AWS status.
    state: str | None = None
    status: str | None = None
    master_username: str | None = None

    @classmethod
    def of(cls, cluster: Resource, database_names: Sequence[str] = ()) -> CloneInfo:
        tags = _tags(cluster)
        named = cluster.get("DatabaseName")
        return cls(
            name=str(cluster.get("DBClusterIdentifier")),
            source=tags.get(TAG_SOURCE),
            method=tags.get(lease.TAG_METHOD),
            restore_time=tags.get(lease.TAG_RESTORE_TIME),
            endpoint=cluster.get("Endpoint"),
            port=int(cluster.get("Port") or 5432),
            database_names=tuple(database_names) or ((named,) if named else ()),
            expires_at=tags.get(TAG_EXPIRES_AT),
            protected_until=tags.get(TAG_PROTECTED_UNTIL),
            owner=tags.get(TAG_OWNER),
            state=tags.get(lease.TAG_STATE),
            status=cluster.get("Status"),
            master_username=cluster.get("MasterUsername"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "method": self.method,
            "restore_time": self.restore_time,
            "endpoint": self.endpoint,
            "port": self.port,
            "database_names": list(self.database_names),
            "expires_at": self.expires_at,
            "protected_until": self.protected_until,
            "owner": self.owner,
            "state": self.state,
            "status": self.status,
        }

    def psql(self) -> str:
        """A ready ``psql`` line (the password comes from ~/.pgpass or PGPASSWORD)."""
        db = self.database_names[0] if self.database_names else "postgres"
        user = self.master_username or "postgres"
        return (
            f'psql "host={self.endpoint} port={self.port} dbname={db} user={user} sslmode=require"'
        )


@dataclass(frozen=True)
class ListedClone:
    """One line of ``clone list``."""

    name: str
    source: str | None
    method: str | None
    created_at: str | None
    expires_at: str | None
    protected_until: str | None
    owner: str | None
    status: str
    endpoint: str | None
    age_s: float | None
    expired: bool = False
    protected: bool = False
    state: str | None = None

    @classmethod
    def of(cls, cluster: Resource, now: datetime) -> ListedClone:
        tags = _tags(cluster)
        name = str(cluster.get("DBClusterIdentifier"))
        seen = Lease.of(name, tags)
        created = tags.get(lease.TAG_CREATED_AT)
        try:
            age = (now - lease.parse_instant(created or "", "created-at")).total_seconds()
        except BadInput:  # a missing or edited tag: no age rather than no list
            age = None
        return cls(
            name=name,
            source=seen.source,
            method=tags.get(lease.TAG_METHOD),
            created_at=created,
            expires_at=tags.get(TAG_EXPIRES_AT),
            protected_until=tags.get(TAG_PROTECTED_UNTIL),
            owner=seen.owner,
            status=str(cluster.get("Status", "unknown")),
            endpoint=cluster.get("Endpoint"),
            age_s=round(age, 1) if age is not None else None,
            expired=seen.expired(now),
            protected=seen.protected(now),
            state=tags.get(lease.TAG_STATE),
        )

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Timings:
    """Seconds from the restore request to each milestone (None: did not happen)."""

    accepted_s: float | None = None
    cluster_available_s: float | None = None
    instances_available_s: float | None = None
    first_query_s: float | None = None
    masked_s: float | None = None
    total_s: float | None = None

    def to_dict(self) -> dict[str, float | None]:
        return {k: round(v, 1) if v is not None else None for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class CreateResult:
    """What ``clone create`` and ``clone reset`` answer."""

    clone: CloneInfo
    timings: Timings
    mask: Mapping[str, Any] | None = None
    run_id: str | None = None
    plan: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "clone": self.clone.to_dict(),
            "timings": self.timings.to_dict(),
            "mask": dict(self.mask) if self.mask is not None else None,
            "run_id": self.run_id,
        }


@dataclass(frozen=True)
class CloneAnswer:
    """``extend``, ``protect``, ``unprotect``: the clone as it now is."""

    clone: CloneInfo

    def to_dict(self) -> dict[str, Any]:
        return {"clone": self.clone.to_dict()}


@dataclass(frozen=True)
class ListResult:
    clones: tuple[ListedClone, ...]
    owner: str | None = None
    all_owners: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"clones": [c.to_dict() for c in self.clones]}


@dataclass(frozen=True)
class DestroyResult:
    """``destroy`` (and ``gc``): what went; for gc, what stayed and why."""

    destroyed: tuple[str, ...]
    kept: tuple[Kept, ...] = ()
    dry_run: bool = False
    gc: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        if not self.gc:
            return {"destroyed": list(self.destroyed)}
        return {
            "destroyed": list(self.destroyed),
            "kept": [k.to_dict() for k in self.kept],
            "dry_run": self.dry_run,
        }

"""A clone's lease, read from its tags: when it expires, until when it is
protected, whether deleting it takes a final snapshot -- and the pure
decisions made from them (``destroy`` refusals, what ``gc`` sweeps).

Tags hold the truth and no daemon runs: every command reads them afresh and
decides here, with the time passed in (tests inject a clock).
Durations are a number and a unit, ``90s``, ``15m``, ``8h``, ``2d``, at
least one second; instants are ISO 8601 with a zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from snapmigrate.errors import BadInput
from snapmigrate.model import (
    KIND_CLONE,
    TAG_EXPIRES_AT,
    TAG_FINAL_SNAPSHOT,
    TAG_KIND,
    TAG_OWNER,
    TAG_PROTECTED_UNTIL,
    TAG_SOURCE,
)
from snapmigrate.progress import _DURATION, duration
from snapmigrate.progress import parse_duration as parse_duration  # the clone commands' name

#: The other tags a clone carries (beside those in :mod:`snapmigrate.model`).
TAG_METHOD = "snapmigrate:method"
TAG_CREATED_AT = "snapmigrate:created-at"
TAG_RESTORE_TIME = "snapmigrate:restore-time"
TAG_SNAPSHOT = "snapmigrate:snapshot"
#: ``creating`` until the clone is usable (masked and proven, when masked), then ``ready``.
TAG_STATE = "snapmigrate:clone-state"
#: The first 16 hex digits of the SHA-256 of the masking rules, or ``none``.
TAG_MASK = "snapmigrate:mask"
#: The run (journal) that made the clone, and an instance's role in it. Not the
#: migration's ``snapmigrate:run-id``: ``migrate`` must never take a clone for one of
#: its own runs' targets.
TAG_CLONE_RUN = "snapmigrate:clone-run"
TAG_CLONE_ROLE = "snapmigrate:clone-role"


def made_by(tags: Mapping[str, str], run_id: str) -> bool:
    """Whether the clone run ``run_id`` made the resource these tags are of."""
    return tags.get(TAG_KIND) == KIND_CLONE and tags.get(TAG_CLONE_RUN) == run_id


DEFAULT_TTL = timedelta(hours=24)
def parse_instant(text: str, flag: str) -> datetime:
    """ISO 8601 with a zone (``2026-01-31T18:00:00+00:00`` or ``...Z``), as UTC."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(
            f"{flag} {text!r} is not an ISO 8601 time: e.g. 2026-01-31T18:00:00+00:00"
        ) from None
    if when.tzinfo is None:
        raise BadInput(
            f"{flag} {text!r} has no zone: add one, e.g. {text.strip()}+00:00 (or Z for UTC)"
        )
    return when.astimezone(UTC)


def parse_until(text: str, now: datetime, flag: str = "--until") -> datetime:
    """An instant, or a duration from ``now``; it must lie in the future."""
    stripped = text.strip()
    when = now + parse_duration(stripped, flag) if _DURATION.fullmatch(stripped.lower()) else None
    when = when or parse_instant(stripped, flag)
    if when <= now:
        raise BadInput(f"{flag} {text!r} is in the past: give a later time or a duration")
    return when


def iso(when: datetime) -> str:
    """An instant as the tags and JSON write it: UTC, to the second, with its zone."""
    return when.astimezone(UTC).isoformat(timespec="seconds")


def utc_now() -> datetime:
    """The real wall clock (commands take another one in tests)."""
    return datetime.now(UTC)


def _instant(tags: Mapping[str, str], key: str) -> datetime | None:
    value = tags.get(key)
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Lease:
    """What a cluster's tags say about it as a clone."""

    name: str
    is_clone: bool
    source: str | None = None
    expires_at: datetime | None = None
    expires_text: str | None = None
    protected_until: datetime | None = None
    owner: str | None = None
    final_snapshot: bool = True

    @classmethod
    def of(cls, name: str, tags: Mapping[str, str]) -> Lease:
        return cls(
            name=name,
            is_clone=tags.get(TAG_KIND) == KIND_CLONE,
            source=tags.get(TAG_SOURCE),
            expires_at=_instant(tags, TAG_EXPIRES_AT),
            expires_text=tags.get(TAG_EXPIRES_AT),
            protected_until=_instant(tags, TAG_PROTECTED_UNTIL),
            owner=tags.get(TAG_OWNER),
            final_snapshot=final_snapshot(tags),
        )

    def protected(self, now: datetime) -> bool:
        return self.protected_until is not None and self.protected_until > now

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


def final_snapshot(tags: Mapping[str, str]) -> bool:
    """Whether deleting the cluster must take a final snapshot: yes unless it was
    declared disposable (``snapmigrate:final-snapshot=no``, which clones carry)."""
    return tags.get(TAG_FINAL_SNAPSHOT, "").lower() != "no"


def refusal(lease: Lease, now: datetime, *, what: str = "destroy") -> str | None:
    """Why ``clone destroy`` (or ``reset``) must not touch this cluster, or None."""
    if not lease.is_clone:
        return (
            f"{lease.name} is not a snapmigrate clone (no {TAG_KIND}={KIND_CLONE} tag): "
            f"clone {what} touches only clones; nothing was changed"
        )
    if lease.protected(now):
        assert lease.protected_until is not None
        return (
            f"clone {lease.name} is protected until {iso(lease.protected_until)}: "
            f"'snapmigrate clone unprotect {lease.name}' first; nothing was changed"
        )
    return None


@dataclass(frozen=True)
class Kept:
    """A clone ``gc`` leaves alone, and why."""

    name: str
    why: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "why": self.why}


@dataclass(frozen=True)
class Sweep:
    """What ``gc`` destroys and what it keeps."""

    destroy: tuple[str, ...]
    kept: tuple[Kept, ...]


def sweep(clones: Iterable[tuple[Lease, str]], now: datetime) -> Sweep:
    """Expired, unprotected clones go; every other clone stays, with the reason.

    ``clones`` pairs each clone's lease with its AWS status: one that is
    already being deleted, or not yet available (AWS refuses to delete a
    cluster while it is created), is kept for a later run.
    """
    destroy: list[str] = []
    kept: list[Kept] = []
    for lease, status in sorted(clones, key=lambda c: c[0].name):
        if not lease.is_clone:
            continue
        why = _keeps(lease, status, now)
        if why is None:
            destroy.append(lease.name)
        else:
            kept.append(Kept(lease.name, why))
    return Sweep(tuple(destroy), tuple(kept))


def _keeps(lease: Lease, status: str, now: datetime) -> str | None:
    if lease.expires_at is None:
        if lease.expires_text:
            return (
                f"its expires-at tag {lease.expires_text!r} is unreadable: set it with "
                f"'snapmigrate clone extend {lease.name} --ttl ...'"
            )
        return "it has no expiry"
    if lease.protected(now):
        assert lease.protected_until is not None
        return f"protected until {iso(lease.protected_until)}"
    if not lease.expired(now):
        left = (lease.expires_at - now).total_seconds()
        return f"expires in {duration(left)} ({iso(lease.expires_at)})"
    if status == "deleting":
        return "already being deleted"
    if status not in ("available", "stopped", "failed", "inaccessible-encryption-credentials"):
        return f"expired, but {status}: AWS deletes it only once that is over (next run)"
    return None

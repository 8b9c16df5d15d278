"""A clone's lease: durations, instants, expiry, protection, what gc sweeps -- pure,
on a clock passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from snapmigrate.clone.lease import (
    Lease,
    final_snapshot,
    iso,
    parse_duration,
    parse_instant,
    parse_until,
    refusal,
    sweep,
)
from snapmigrate.errors import BadInput

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("8h", 28800), ("2d", 172800), ("1s", 1)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("text", "why"),
    [("0s", "too short"), ("1.5h", "not a duration"), ("2w", "not a duration"),
     ("h", "not a duration"), ("-5m", "not a duration"), ("4000d", "too long")],
)  # fmt: skip
def test_bad_durations_say_what_is_wrong(text: str, why: str) -> None:
    with pytest.raises(BadInput, match=why):
        parse_duration(text)


def test_instants_need_a_zone_and_come_back_in_utc() -> None:
    assert parse_instant("2026-03-01T14:00:00+02:00", "--x") == NOW
    assert parse_instant("2026-03-01T12:00:00Z", "--x") == NOW
    with pytest.raises(BadInput, match="has no zone"):
        parse_instant("2026-03-01T12:00:00", "--x")
    with pytest.raises(BadInput, match="not an ISO 8601 time"):
        parse_instant("tomorrow", "--x")
    assert iso(NOW) == "2026-03-01T12:00:00+00:00"


def test_until_is_a_time_or_a_duration_in_the_future() -> None:
    assert parse_until("2d", NOW) == NOW + timedelta(days=2)
    assert parse_until("2026-03-02T00:00:00Z", NOW) == NOW + timedelta(hours=12)
    with pytest.raises(BadInput, match="in the past"):
        parse_until("2026-03-01T11:00:00Z", NOW)


def test_expiry_and_protection_from_tags() -> None:
    seen = Lease.of(
        "c",
        {
            "snapmigrate:kind": "clone",
            "snapmigrate:expires-at": "2026-03-01T13:00:00+00:00",
            "snapmigrate:protected-until": "2026-03-01T12:30:00+00:00",
        },
    )
    assert not seen.expired(NOW) and seen.protected(NOW)
    later = NOW + timedelta(hours=2)
    assert seen.expired(later) and not seen.protected(later)


def test_only_a_declared_disposable_cluster_goes_without_a_final_snapshot() -> None:
    assert final_snapshot({}) is True
    assert final_snapshot({"snapmigrate:final-snapshot": "yes"}) is True
    assert final_snapshot({"snapmigrate:final-snapshot": "no"}) is False


def test_destroy_refuses_what_is_not_a_clone_and_a_protected_clone() -> None:
    assert "not a snapmigrate clone" in (refusal(Lease.of("prod", {}), NOW) or "")
    guarded = Lease.of(
        "c",
        {"snapmigrate:kind": "clone", "snapmigrate:protected-until": "2026-03-02T00:00:00Z"},
    )
    assert "protected until 2026-03-02T00:00:00+00:00" in (refusal(guarded, NOW) or "")
    assert refusal(guarded, NOW + timedelta(days=2)) is None


def _clone(name: str, expires: str | None, protected: str | None = None) -> Lease:
    tags = {"snapmigrate:kind": "clone"}
    if expires is not None:
        tags["snapmigrate:expires-at"] = expires
    if protected is not None:
        tags["snapmigrate:protected-until"] = protected
    return Lease.of(name, tags)


def test_gc_sweeps_only_expired_unprotected_settled_clones() -> None:
    past, future = "2026-03-01T11:00:00Z", "2026-03-01T18:00:00Z"
    found = sweep(
        [
            (_clone("expired", past), "available"),
            (_clone("stopped", past), "stopped"),
            (_clone("fresh", future), "available"),
            (_clone("guarded", past, protected=future), "available"),
            (_clone("old-guard", past, protected=past), "available"),
            (_clone("busy", past), "creating"),
            (_clone("going", past), "deleting"),
            (_clone("forever", None), "available"),
            (_clone("edited", "next tuesday"), "available"),
            (Lease.of("prod", {}), "available"),
        ],
        NOW,
    )
    assert found.destroy == ("expired", "old-guard", "stopped")
    why = {k.name: k.why for k in found.kept}
    assert set(why) == {"fresh", "guarded", "busy", "going", "forever", "edited"}
    assert why["fresh"] == "expires in 6h00m (2026-03-01T18:00:00+00:00)"
    assert why["guarded"].startswith("protected until")
    assert "creating" in why["busy"] and why["going"] == "already being deleted"
    assert why["forever"] == "it has no expiry" and "unreadable" in why["edited"]


def test_the_ttl_on_a_moving_clock() -> None:
    """Created at NOW with --ttl 1h: kept at 59 minutes, swept at 61."""
    made = _clone("qa", iso(NOW + parse_duration("1h")))
    assert sweep([(made, "available")], NOW + timedelta(minutes=59)).destroy == ()
    assert sweep([(made, "available")], NOW + timedelta(minutes=61)).destroy == ("qa",)

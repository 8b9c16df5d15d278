"""The archive's bookkeeping without servers: markers settle once their segment is
archived, and a restore picks its base and where to stop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from snapmigrate.errors import OperationFailed
from snapmigrate_lab.archive import Base, ClusterArchive, Marker
from snapmigrate_lab.pitr import restore_time, shown, switch_point
from snapmigrate_lab.wire import Refused

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def archive(tmp_path: Path) -> ClusterArchive:
    found = ClusterArchive(
        tmp_path, bases=[Base(tmp_path / "b1", at(0)), Base(tmp_path / "b2", at(60))]
    )
    found.latest = at(0)
    return found


def test_a_marker_counts_once_its_segment_is_archived(tmp_path):
    found = archive(tmp_path)
    found.pending = [
        Marker(at(5), "000000010000000000000003", 800),
        Marker(at(7), "000000010000000000000004", 802),
    ]
    (tmp_path / "000000010000000000000003").touch()
    found.settle()
    assert (found.latest, found.marked, found.clean_xid) == (at(5), at(5), 800)
    assert [m.segment for m in found.pending] == ["000000010000000000000004"]
    found.settle()  # nothing new archived: nothing moves
    assert found.latest == at(5)


def test_a_restore_takes_the_newest_base_before_its_time_and_stops_before_the_marker(tmp_path):
    found = archive(tmp_path)
    found.marked = at(90)
    assert found.plan(at(30)).base.path == tmp_path / "b1"
    assert found.plan(at(30)).target == at(30)
    assert found.plan(at(61)).base.path == tmp_path / "b2"
    # At or after the newest marker no commit follows in the archive: replay it all.
    assert found.plan(at(90)).target is None and found.plan(None).target is None
    with pytest.raises(OperationFailed, match="no base backup"):
        found.plan(at(-1))


def test_archive_settings_quote_the_directory(tmp_path):
    odd = tmp_path / "a lab's dir"
    settings = ClusterArchive(odd).settings()
    assert settings["archive_mode"] == "on"
    assert "'\"'\"'" in settings["archive_command"]  # the quote survives the shell
    assert ClusterArchive(odd).restore_command().endswith("/%f %p")


def test_restore_times_and_their_display():
    assert restore_time("2026-01-01T12:00:00Z") == T0
    assert restore_time("2026-01-01T12:00:00.5+00:00") == at(0.5)
    with pytest.raises(Refused):
        restore_time("yesterday")
    assert shown(at(1.2345)) == "2026-01-01T12:00:01.234Z"


def test_a_promoted_servers_timeline_begins_at_its_history_files_last_switch(tmp_path):
    (tmp_path / "pg_wal").mkdir()
    assert switch_point(tmp_path) == ""
    (tmp_path / "pg_wal" / "00000002.history").write_text(
        "1\t0/3000000\tno recovery target specified\n"
    )
    (tmp_path / "pg_wal" / "00000003.history").write_text(
        "1\t0/3000000\tno recovery target specified\n2\t0/5002170\tbefore transaction 771\n"
    )
    assert switch_point(tmp_path) == "0/5002170"


def test_the_wal_written_last_is_found_by_time_not_name(tmp_path):
    import os

    from snapmigrate_lab.archive import wal_signature

    wal = tmp_path / "pg_wal"
    wal.mkdir()
    for name, at in (("000000010000000000000008", 200), ("000000010000000000000009", 100)):
        (wal / name).write_bytes(b"")
        os.utime(wal / name, ns=(at, at))  # ...09: recycled, waiting for its turn
    (wal / "00000002.history").write_text("")
    assert wal_signature(tmp_path) == ("000000010000000000000008", 200)
    assert wal_signature(tmp_path / "nowhere") == ("", 0)

"""The journal: atomic JSON per run, where it lives, the lock, bad files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from snapmigrate.errors import BadInput, NotFound
from snapmigrate.workflow.journal import (
    Journal,
    RunRecord,
    StepRecord,
    check_run_id,
    new_run_id,
    state_dir,
)


def record(run_id: str = "1234abcd", created: str = "2026-01-01T00:00:00+00:00") -> RunRecord:
    return RunRecord(
        run_id=run_id, state="running", source="legacy", target="fresh",
        created=created, updated=created,
        steps=(StepRecord("snapshot"), StepRecord("restore")),
    )  # fmt: skip


def test_round_trip(tmp_path: Path):
    journal = Journal(tmp_path)
    rec = record().with_step(
        StepRecord(
            "snapshot",
            state="done",
            resources={"snapshot": "s1"},
            waits=({"api_calls": 3},),
            api_calls=5,
        )
    )
    journal.save(rec)
    loaded = journal.load("1234abcd")
    assert loaded == rec
    data = json.loads((tmp_path / "1234abcd.json").read_text())
    assert data["api_calls"] == 5 and data["steps"][0]["resources"] == {"snapshot": "s1"}
    assert loaded.current is not None and loaded.current.name == "restore"


def test_where_the_state_lives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    assert state_dir() == Path(".snapmigrate")
    monkeypatch.setenv("SNAPMIGRATE_STATE_DIR", str(tmp_path / "env"))
    assert state_dir() == tmp_path / "env"
    assert state_dir(tmp_path / "arg") == tmp_path / "arg"


def test_run_ids():
    ids = {new_run_id() for _ in range(50)}
    assert len(ids) == 50 and all(check_run_id(i) == i for i in ids)
    for bad in ("ABCDEF12", "1234", "../etc/x", "1234abcde"):
        with pytest.raises(BadInput, match="8 lowercase hex"):
            check_run_id(bad)


def test_missing_and_broken_journals(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    journal = Journal(tmp_path)
    with pytest.raises(NotFound, match="no run 0000aaaa") as err:
        journal.load("0000aaaa")
    assert err.value.exit_code == 2
    (tmp_path / "0000bbbb.json").write_text("{not json")
    (tmp_path / "0000cccc.json").write_text("{}")
    (tmp_path / "notes.json").write_text("{}")
    journal.save(record("0000dddd", "2026-01-02T00:00:00+00:00"))
    journal.save(record("0000eeee", "2026-01-03T00:00:00+00:00"))
    assert [r.run_id for r in journal.runs()] == ["0000eeee", "0000dddd"]
    assert sum("skipping" in r.getMessage() for r in caplog.records) == 2
    with pytest.raises(BadInput, match="cannot be read"):
        journal.load("0000bbbb")
    assert Journal(tmp_path / "nowhere").runs() == []


def test_a_run_cannot_be_applied_twice_at_once(tmp_path: Path):
    journal = Journal(tmp_path)
    with journal.lock("1234abcd"):
        with (
            pytest.raises(BadInput, match=f"being applied by pid {os.getpid()}"),
            Journal(tmp_path).lock("1234abcd"),
        ):
            pass
        with Journal(tmp_path).lock("5678abcd"):  # another run is fine
            pass
    with journal.lock("1234abcd"):  # released
        pass


def test_saves_are_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    journal = Journal(tmp_path)
    journal.save(record())
    before = (tmp_path / "1234abcd.json").read_text()

    def fail(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)  # the one global patched: the OS failing mid-write
    with pytest.raises(OSError):
        journal.save(record().with_event("x"))
    assert (tmp_path / "1234abcd.json").read_text() == before
    assert not list(tmp_path.glob(".*.tmp"))

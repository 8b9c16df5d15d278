"""Fixtures for tests that need a local Aurora (registered in tests/conftest.py).

- ``lab``: one lab for the whole session (started on first use, taken down at
  the end), realism on: every resource passes through its transitional state
  for one describe poll, as AWS's do for minutes. Tests share it: use unique
  cluster and snapshot identifiers (``unique_id``). After each test module the
  lab is reset (every resource, server, copy and archive goes): a module starts
  from an empty AWS, and the suite's disk use stays that of one module.
- ``lab_knobs``: the session lab, knobs restored to the session's after the test.
- ``lab_env``: the environment (AWS_ENDPOINT_URL, dummy credentials, connect
  map, PGPASSFILE) pointed at the session lab for this test.
- ``lab_v1``: the lab's seeded Aurora Serverless v1 cluster (scale 1), seeded
  again when a reset took it.
- ``take_down``: for tests that start labs of their own: registers a lab
  directory and takes that lab down after the test, passed or failed.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

#: The session lab's knobs: realistic but cheap (no throttling, which costs
#: real backoff sleeps in botocore; tests turn it on where they need it).
TEST_KNOBS: dict[str, Any] = {"delay_polls": 1, "seed": 1234}

_ids = itertools.count(1)
#: The session lab once started ("lab"), and its v1 seed ("v1").
_session: dict[str, Any] = {}


def unique_id(prefix: str = "t") -> str:
    """A cluster/snapshot identifier no other test of this session uses."""
    return f"{prefix}-{next(_ids)}"


_lacking: dict[int, str] = {}


def need_majors(*wanted: int) -> None:
    """Skip the test, saying why, when these PostgreSQL majors cannot be had here
    (no npm, no network); with SNAPMIGRATE_LAB_REQUIRE_MAJORS=1 (CI) fail instead."""
    from snapmigrate_lab import majors

    for major in wanted:
        if major not in _lacking:
            try:
                majors.build(major)
                _lacking[major] = ""
            except majors.MajorUnavailable as e:
                _lacking[major] = str(e)
    lacking = {m: _lacking[m] for m in wanted if _lacking[m]}
    if lacking:
        reason = "; ".join(f"PostgreSQL {m}: {why}" for m, why in lacking.items())
        if majors.policy() == "strict":
            pytest.fail(f"{majors.REQUIRE_VARIABLE} is set and {reason}")
        pytest.skip(f"needs PostgreSQL majors the lab cannot fetch here ({reason})")


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from snapmigrate_lab import Lab

    instance = Lab(tmp_path_factory.mktemp("lab") / "lab")
    instance.up(knobs=TEST_KNOBS, watch_pid=os.getpid())  # no leftover servers if pytest is killed
    _session["lab"] = instance
    try:
        yield instance
    finally:
        _session.clear()
        instance.down()


@pytest.fixture(scope="module", autouse=True)
def _empty_lab_after_each_module() -> Iterator[None]:
    """Reset the session lab after each module that ran while it was up (this fixture is
    set up first in a module, so torn down after the module's own fixtures)."""
    yield
    lab = _session.get("lab")
    if lab is not None and lab.is_running():
        lab.reset()
        _session.pop("v1", None)


@pytest.fixture
def lab_knobs(lab: Any) -> Iterator[Any]:
    """The session lab; whatever knobs the test sets are undone afterwards."""
    yield lab
    lab.reset_knobs()


@pytest.fixture
def lab_env(lab: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env: dict[str, str] = lab.env()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def lab_v1(lab: Any) -> Any:
    """The seeded v1 source (``legacy-v1``, database ``app``): treat it as read-only.
    Seeded once per module at most (the lab is reset between modules)."""
    if "v1" not in _session:
        _session["v1"] = lab.seed("v1", scale=1)
    return _session["v1"]


@pytest.fixture
def take_down() -> Iterator[Callable[[Path], Path]]:
    """``take_down(dir)`` -> dir; the lab there (if any) is taken down after the test."""
    from snapmigrate_lab import Lab

    directories: list[Path] = []

    def register(directory: Path) -> Path:
        directories.append(directory)
        return directory

    yield register
    for directory in directories:
        Lab(directory).down()

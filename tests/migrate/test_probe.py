"""The instances step's SELECT 1 probe, the write counters and the verify step
against a real PostgreSQL server standing in for the target's endpoint
(reached, as a user reaches a private cluster, through the connect map).

The verifier is built in its own issue: a stand-in module with the functions
the step expects shows how it is called and what its answer does."""

from __future__ import annotations

import importlib.machinery
import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from snapmigrate.connectmap import write
from snapmigrate.errors import DifferencesFound, OperationFailed
from snapmigrate.journal import Journal
from snapmigrate.lab.postgres import PgServer, free_port
from snapmigrate.steps.context import RunSettings
from tests.migrate.conftest import RUN_ID, Env, FakeClock, make_env
from tests.migrate.conftest import hooked_clients as _hooked

SECRET = "probe-Pa55-not-logged"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory):
    server = PgServer.create(tmp_path_factory.mktemp("probe") / "data", user="postgres", password=SECRET)
    server.start()
    yield server
    server.remove()


class RouteTarget:
    """Once the restore is done, route the target's endpoint to ``port`` in the connect map."""

    def __init__(self, env: Env, path: Path, port: int) -> None:
        self.env, self.path, self.port = env, path, port
        write(path, {})

    def __call__(self, kind: str, step: str) -> None:
        if (kind, step) == ("step-finished", "restore"):
            cluster = self.env.rds.describe_db_clusters(DBClusterIdentifier="fresh")["DBClusters"][0]
            write(self.path, {f"{cluster['Endpoint']}:{cluster['Port']}": f"127.0.0.1:{self.port}"})


def connected(env: Env, tmp_path: Path, port: int, **kw: Any):
    clients, hooks = _hooked(simulate=False)
    path = tmp_path / "connect-map.json"
    runner = env.runner(
        clients,
        settings=RunSettings(connect=True, connect_map=str(path)),
        on_event=RouteTarget(env, path, port),
        **kw,
    )
    return runner, hooks


@pytest.fixture
def small(rds, tmp_path: Path, monkeypatch) -> Env:
    # The embedded PostgreSQL build has no TLS; Aurora endpoints default to sslmode=require.
    monkeypatch.setenv("PGSSLMODE", "disable")
    return make_env(rds, tmp_path, readers=0)


def test_the_probe_answers_through_the_connect_map(small: Env, tmp_path: Path, pg: PgServer, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", SECRET)  # libpq's own way: the cluster has no managed secret
    runner, _ = connected(small, tmp_path, pg.port)
    result = runner.start(small.plan)
    instances = result.record.step("instances")
    assert instances.details["probe"] == "SELECT 1 answered"
    probe_wait = instances.waits[-1]
    assert probe_wait["what"] == "SELECT 1 on fresh" and probe_wait["final"] == {"fresh SELECT 1": "answers"}
    snapshot = result.record.step("snapshot")
    assert snapshot.details["write_counters_before"] == {**snapshot.details["write_counters_before"], "captured": False, "reason": "skipped: verifier not available"}
    assert result.record.step("verify").outcome == "skipped: verifier not available"
    assert result.record.step("verify").state == "skipped"
    # is_done re-probes: a second pass finds everything done, SELECT 1 included
    again = runner.resume(RUN_ID)
    assert again.record.step("instances").attempts == 1


def test_an_endpoint_that_never_answers_fails_after_the_probe_timeout(small: Env, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", SECRET)
    clock = FakeClock()
    runner, _ = connected(small, tmp_path, free_port(), clock=clock)
    with pytest.raises(OperationFailed) as err:
        runner.start(small.plan)
    text = str(err.value)
    assert "instances of fresh are available but its endpoint does not answer SELECT 1" in text
    assert "SELECT 1 on fresh not done after 15m00s" in text and "--no-connect" in text
    assert err.value.exit_code == 1 and clock.now >= 900
    journal_text = (small.state_dir / f"{RUN_ID}.json").read_text()
    assert json.loads(journal_text)["steps"][2]["state"] == "failed"
    assert SECRET not in text and SECRET not in journal_text


def test_a_refused_password_fails_at_once_and_is_never_shown(small: Env, tmp_path: Path, pg: PgServer, monkeypatch):
    wrong = "wrong-" + SECRET
    monkeypatch.setenv("PGPASSWORD", wrong)
    clock = FakeClock()
    runner, _ = connected(small, tmp_path, pg.port, clock=clock)
    with pytest.raises(OperationFailed, match="password authentication failed") as err:
        runner.start(small.plan)
    assert clock.now == 0  # no waiting for what waiting cannot fix
    journal_text = (small.state_dir / f"{RUN_ID}.json").read_text()
    for text in (str(err.value), journal_text):
        assert wrong not in text and SECRET not in text


def fake_verifier(monkeypatch, *, equal: bool) -> list[tuple[str, Any]]:
    """Stands in for snapmigrate.verify (its own issue): records what it is given."""
    calls: list[tuple[str, Any]] = []
    module = types.ModuleType("snapmigrate.verify")
    module.__spec__ = importlib.machinery.ModuleSpec("snapmigrate.verify", None)

    def write_counters(endpoint, *, connect_map):
        calls.append(("write_counters", endpoint.cluster_id))
        return {"public.t": {"n_tup_ins": 1}}

    class Result:
        def __init__(self) -> None:
            self.equal = equal

        def to_dict(self) -> dict[str, Any]:
            return {"equal": equal, "tables": []}

    def verify(source, target, *, mode, connect_map, counters):
        calls.append(("verify", (source.cluster_id, target.cluster_id, mode, counters["before"].get("captured"), counters["after"].get("captured"))))
        return Result()

    module.write_counters = write_counters  # type: ignore[attr-defined]
    module.verify = verify  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapmigrate.verify", module)
    return calls


def test_the_verifier_is_used_when_present_and_differences_exit_3(small: Env, tmp_path: Path, pg: PgServer, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", SECRET)
    calls = fake_verifier(monkeypatch, equal=False)
    runner, _ = connected(small, tmp_path, pg.port)
    with pytest.raises(DifferencesFound) as err:
        runner.start(small.plan)
    assert err.value.exit_code == 3
    assert calls == [
        ("write_counters", "legacy"),
        ("write_counters", "legacy"),
        ("verify", ("legacy", "fresh", "checksum", True, True)),
    ]
    record = Journal(small.state_dir).load(RUN_ID)
    assert record.step("snapshot").details["write_counters_before"]["counters"] == {"public.t": {"n_tup_ins": 1}}
    assert (record.state, record.step("verify").state) == ("failed", "failed")


def test_an_equal_verification_is_done_and_not_repeated(small: Env, tmp_path: Path, pg: PgServer, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", SECRET)
    calls = fake_verifier(monkeypatch, equal=True)
    runner, _ = connected(small, tmp_path, pg.port)
    result = runner.start(small.plan)
    assert result.record.step("verify").state == "done" and result.record.step("verify").details["equal"] is True
    calls.clear()
    runner.resume(RUN_ID)
    assert calls == []

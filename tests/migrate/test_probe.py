"""The instances step's SELECT 1 probe, the write counters and the verify step
against real PostgreSQL servers standing in for the source's and the target's
endpoints (reached, as a user reaches a private cluster, through the connect map)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from snapmigrate.connectmap import write
from snapmigrate.errors import DifferencesFound, OperationFailed
from snapmigrate.migrate.context import RunSettings
from snapmigrate.workflow.journal import Journal
from snapmigrate_lab.postgres import PgServer, free_port, running
from tests.migrate.conftest import RUN_ID, Env, FakeClock, make_env
from tests.migrate.conftest import hooked_clients as _hooked

SECRET = "probe-Pa55-not-logged"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pg():
    with running(password=SECRET) as server:
        yield server


@pytest.fixture(scope="module")
def pg_src():
    with running(password=SECRET) as server:
        yield server


def same_rows(*servers: PgServer, extra_on_first: int = 0) -> None:
    """Table t with the same 100 rows on every server (plus extra rows on the first)."""
    for n, server in enumerate(servers):
        rows = 100 + (extra_on_first if n == 0 else 0)
        server.psql(
            f"DROP TABLE IF EXISTS t; CREATE TABLE t (id int PRIMARY KEY, v text); "
            f"INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, {rows}) g"
        )


class Routes:
    """Route the source's endpoint to ``source_port`` at once, the target's to
    ``port`` once the restore is done (as the lab's connect map does)."""

    def __init__(self, env: Env, path: Path, port: int, source_port: int) -> None:
        self.env, self.path, self.port = env, path, port
        source = env.rds.describe_db_clusters(DBClusterIdentifier="legacy")["DBClusters"][0]
        self.routes = {f"{source['Endpoint']}:{source['Port']}": f"127.0.0.1:{source_port}"}
        write(path, self.routes)

    def __call__(self, kind: str, step: str) -> None:
        if (kind, step) == ("step-finished", "restore"):
            cluster = self.env.rds.describe_db_clusters(DBClusterIdentifier="fresh")["DBClusters"][
                0
            ]
            self.routes[f"{cluster['Endpoint']}:{cluster['Port']}"] = f"127.0.0.1:{self.port}"
            write(self.path, self.routes)


def connected(env: Env, tmp_path: Path, port: int, source_port: int | None = None, **kw: Any):
    clients, hooks = _hooked(simulate=False)
    path = tmp_path / "connect-map.json"
    runner = env.runner(
        clients,
        settings=RunSettings(connect=True, connect_map=str(path)),
        on_event=Routes(env, path, port, source_port or free_port()),
        **kw,
    )
    return runner, hooks


@pytest.fixture
def small(rds, tmp_path: Path, monkeypatch) -> Env:
    # The embedded PostgreSQL build has no TLS; Aurora endpoints default to sslmode=require.
    monkeypatch.setenv("PGSSLMODE", "disable")
    return make_env(rds, tmp_path, readers=0)


def test_the_probe_answers_through_the_connect_map(
    small: Env, tmp_path: Path, pg: PgServer, pg_src: PgServer, monkeypatch
):
    monkeypatch.setenv("PGPASSWORD", SECRET)  # libpq's own way: the cluster has no managed secret
    same_rows(pg_src, pg)
    runner, _ = connected(small, tmp_path, pg.port, pg_src.port)
    result = runner.start(small.plan)
    instances = result.record.step("instances")
    assert instances.details["probe"] == "SELECT 1 answered"
    probe_wait = instances.waits[-1]
    assert probe_wait["what"] == "SELECT 1 on fresh" and probe_wait["final"] == {
        "fresh SELECT 1": "answers"
    }
    snapshot = result.record.step("snapshot")
    before = snapshot.details["write_counters_before"]
    assert before["captured"] is True
    assert any(t["table"] == "t" and t["n_tup_ins"] >= 100 for t in before["counters"]["tables"])
    verify = result.record.step("verify")
    assert (verify.state, verify.details["equal"]) == ("done", True)
    assert verify.details["report"]["tables"][0]["source_rows"] == 100
    # is_done re-probes: a second pass finds everything done, SELECT 1 included
    again = runner.resume(RUN_ID)
    assert again.record.step("instances").attempts == 1


def test_an_endpoint_that_never_answers_fails_after_the_probe_timeout(
    small: Env, tmp_path: Path, monkeypatch
):
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


def test_a_refused_password_fails_at_once_and_is_never_shown(
    small: Env, tmp_path: Path, pg: PgServer, monkeypatch
):
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


def test_the_verifier_finds_differences_and_the_run_exits_3(
    small: Env, tmp_path: Path, pg: PgServer, pg_src: PgServer, monkeypatch
):
    monkeypatch.setenv("PGPASSWORD", SECRET)
    same_rows(pg_src, pg, extra_on_first=3)  # the "copy" lacks three rows
    runner, _ = connected(small, tmp_path, pg.port, pg_src.port)
    with pytest.raises(DifferencesFound) as err:
        runner.start(small.plan)
    assert err.value.exit_code == 3
    record = Journal(small.state_dir).load(RUN_ID)
    assert (record.state, record.step("verify").state) == ("failed", "failed")
    table = record.step("verify").details["report"]["tables"][0]
    assert (table["name"], table["source_rows"], table["target_rows"], table["equal"]) == (
        "t",
        103,
        100,
        False,
    )


def test_an_equal_verification_is_done_and_not_repeated(
    small: Env, tmp_path: Path, pg: PgServer, pg_src: PgServer, monkeypatch
):
    monkeypatch.setenv("PGPASSWORD", SECRET)
    same_rows(pg_src, pg)
    runner, _ = connected(small, tmp_path, pg.port, pg_src.port)
    result = runner.start(small.plan)
    first = result.record.step("verify")
    assert first.state == "done" and first.details["equal"] is True
    again = runner.resume(RUN_ID).record.step("verify")
    assert (again.finished, again.attempts) == (first.finished, first.attempts)


def test_writes_after_the_snapshot_are_drift_not_a_failed_verification(
    small: Env, tmp_path: Path, pg: PgServer, pg_src: PgServer, monkeypatch
):
    """A live source changes after the snapshot: the run's verification reports
    those tables as drift and passes; the cutover's catch-up check decides later."""
    monkeypatch.setenv("PGPASSWORD", SECRET)
    same_rows(pg_src, pg)
    clients, _ = _hooked(simulate=False)
    path = tmp_path / "connect-map.json"
    routes = Routes(small, path, pg.port, pg_src.port)

    def on_event(kind: str, step: str) -> None:
        routes(kind, step)
        if (kind, step) == ("step-finished", "snapshot"):
            pg_src.psql("INSERT INTO t SELECT g, 'late' FROM generate_series(1001, 1004) g")

    runner = small.runner(
        clients, settings=RunSettings(connect=True, connect_map=str(path)), on_event=on_event
    )
    result = runner.start(small.plan)
    verify = result.record.step("verify")
    assert verify.state == "done" and verify.details["equal"] is True
    assert verify.outcome.startswith("equal but for drift")
    table = verify.details["report"]["tables"][0]
    assert (table["source_rows"], table["target_rows"], table["drift"]) == (104, 100, True)

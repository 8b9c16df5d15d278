"""The load generator's fixes, on a real server: ids stay unique across runs on
one table, and a role that may not call ``pg_control_system()`` still writes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from snapmigrate import loadgen
from snapmigrate.db.connect import Endpoint, resolve
from snapmigrate.errors import BadInput
from snapmigrate_lab.postgres import PgServer, running

PW = "pw-load-fix"


@pytest.fixture(scope="module")
def server() -> Iterator[PgServer]:
    with running(user="master", password=PW) as s:
        yield s


@pytest.mark.slow
def test_two_runs_on_one_table_both_commit_with_distinct_ids(server: PgServer):
    ep = resolve(server.dsn(), "load")
    loadgen.ensure_table(ep, "postgres", table="two_runs")
    options = loadgen.LoadOptions(workers=2, rate_per_worker=100, table="two_runs")
    first = loadgen.LoadRun(ep, "postgres", options).run_for(0.5)
    second = loadgen.LoadRun(ep, "postgres", options).run_for(0.5)
    assert first.committed and second.committed
    assert (first.errors, second.errors) == (0, 0)
    assert not set(first.committed) & set(second.committed)
    rows = int(server.psql("SELECT count(*) FROM two_runs"))
    assert rows == len(first.committed) + len(second.committed)


def test_ids_carry_run_worker_and_sequence():
    run = loadgen.LoadRun(Endpoint("x", "h"), "db", loadgen.LoadOptions(workers=3), run_tag=5)
    worker = loadgen._Worker(3, run)
    first, second = worker.next_id(), worker.next_id()
    assert first >> loadgen.RUN_SHIFT == 5 and (first >> loadgen.WORKER_SHIFT) & 0b111111 == 3
    assert second - first == 1 and 0 < second < 2**63
    with pytest.raises(BadInput, match="workers must be between 1 and 63"):
        loadgen.LoadOptions(workers=64)
    with pytest.raises(BadInput, match="run_tag"):
        loadgen.LoadRun(
            Endpoint("x", "h"), "db", loadgen.LoadOptions(), run_tag=1 << loadgen.RUN_BITS
        )


@pytest.mark.slow
def test_a_role_without_pg_control_system_still_writes(server: PgServer, tmp_path: Path):
    server.psql(
        "DROP ROLE IF EXISTS app_rw; CREATE ROLE app_rw LOGIN PASSWORD 'pw-app-rw'; "
        "REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC; "
        "CREATE TABLE IF NOT EXISTS restricted (id bigint PRIMARY KEY, worker int NOT NULL, "
        "written_at timestamptz NOT NULL DEFAULT clock_timestamp(), served_by text); "
        "GRANT INSERT, SELECT ON restricted TO app_rw"
    )
    try:
        ep = Endpoint("load", "127.0.0.1", server.port, user="app_rw", password="pw-app-rw")
        result = loadgen.LoadRun(
            ep, "postgres", loadgen.LoadOptions(workers=1, rate_per_worker=50, table="restricted")
        ).run_for(0.5)
        assert result.committed and result.errors == 0
        served = server.psql("SELECT DISTINCT served_by FROM restricted").split()
        assert served == [f"127.0.0.1:{server.port}"]  # the address without the system identifier
    finally:
        server.psql("GRANT EXECUTE ON FUNCTION pg_control_system() TO PUBLIC")

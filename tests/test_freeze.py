"""The write freeze on a real server: read-only for new sessions, others ended, exact undo."""

from __future__ import annotations

import time

import psycopg
import pytest

from snapmigrate.db import freeze as fz
from snapmigrate.db.connect import resolve
from snapmigrate_lab.postgres import PgServer, running
from tests.lab_fixtures import need_majors

pytestmark = pytest.mark.slow  # real PostgreSQL servers, the lab, or a moto server


@pytest.fixture(scope="module", params=[None, 11, 13], ids=lambda m: f"pg{m or 18}")
def server(request: pytest.FixtureRequest):
    """A source server: the wheel's 18, and Aurora's usual sources 11 and 13."""
    if request.param:
        need_majors(request.param)
    with running(user="master", password="pw-freeze", major=request.param) as pg:
        for db in ("app", "reports", "already_ro"):
            pg.psql(f"CREATE DATABASE {db}")
        pg.psql("CREATE TABLE t (id int)", "app")
        pg.psql("ALTER DATABASE already_ro SET default_transaction_read_only = on")
        pg.psql("ALTER DATABASE reports SET default_transaction_read_only = off")
        yield pg


def test_freeze_ends_writers_blocks_new_writes_and_unfreeze_restores_exactly(server: PgServer):
    ep = resolve(server.dsn(), "source")
    writer = psycopg.connect(server.dsn("app"))
    writer.execute("INSERT INTO t VALUES (1)")  # an open write transaction (not committed)
    record = fz.freeze(ep, options=fz.FreezeOptions(confirm_timeout_s=10))
    assert {d.name for d in record.databases} >= {"app", "reports", "already_ro", "postgres"}
    assert record.terminated >= 1 and record.confirmed_at
    with pytest.raises(psycopg.OperationalError):
        writer.execute("COMMIT")
    with (
        psycopg.connect(server.dsn("app"), autocommit=True) as conn,
        pytest.raises(psycopg.errors.ReadOnlySqlTransaction),
    ):
        conn.execute("INSERT INTO t VALUES (2)")
    assert fz.is_frozen(ep, "reports")

    fz.unfreeze(ep, fz.FreezeRecord.from_dict(record.to_dict()))
    fz.unfreeze(ep, record)  # idempotent
    with psycopg.connect(server.dsn("app"), autocommit=True) as conn:
        conn.execute("INSERT INTO t VALUES (3)")
    assert not fz.is_frozen(ep, "app")
    assert fz.is_frozen(ep, "already_ro")  # was read-only before: stays so
    assert (
        server.psql(
            "SELECT s.setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = "
            "s.setdatabase "
            "WHERE d.datname = 'reports'"
        ).strip()
        == "{default_transaction_read_only=off}"
    )
    assert (
        server.psql(
            "SELECT count(*) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
            "WHERE d.datname = 'app'"
        ).strip()
        == "0"
    )


def test_long_transactions_are_reported(server: PgServer):
    ep = resolve(server.dsn(), "source")
    holder = psycopg.connect(server.dsn("app"))
    holder.execute("SELECT 1")  # opens a transaction
    time.sleep(1.2)
    found = fz.long_transactions(ep, threshold_s=1)
    holder.close()
    assert any(t.database == "app" and t.seconds >= 1 for t in found)
    assert not [t for t in fz.long_transactions(ep, threshold_s=1) if t.database == "app"]


def test_freeze_reports_a_write_transaction_it_may_not_end(server: PgServer):
    """Sessions of protected users (Aurora's rdsadmin) are never ended: the freeze says so."""
    ep = resolve(server.dsn(), "source")
    server.psql("CREATE ROLE rdsadmin LOGIN SUPERUSER PASSWORD 'adm-pw'")
    holder = psycopg.connect(f"postgresql://rdsadmin:adm-pw@127.0.0.1:{server.port}/app")
    holder.execute("INSERT INTO t VALUES (9)")
    try:
        with pytest.raises(fz.FreezeNotConfirmed, match="write transactions still open") as err:
            fz.freeze(ep, ["app"], options=fz.FreezeOptions(confirm_timeout_s=0.6, poll_s=0.2))
        assert err.value.exit_code == 1
        assert fz.is_frozen(ep, "app")  # the freeze stays in place; the record allows undo
    finally:
        holder.close()
    fz.unfreeze(ep, err.value.record)
    assert not fz.is_frozen(ep, "app")

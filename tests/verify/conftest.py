"""Two real PostgreSQL servers for the whole session, seeded alike; each test
gets its own database pair cloned from the seed, plants its difference on
one side, and drops the pair afterwards. The suite runs once per pair of
majors: 18 against 18 (the wheel's), and Aurora's usual sources 11 and 13
against Serverless v2 targets 16 and 17 (builds the lab fetches; without npm
those runs are skipped, saying why)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from snapmigrate.db.connect import Endpoint, resolve
from snapmigrate.db.verify import VerifyOptions, VerifyResult, verify
from snapmigrate_lab import majors
from snapmigrate_lab.postgres import PgServer, scratch
from tests.lab_fixtures import need_majors

SOURCE_PASSWORD = "src-S3cret-pw"
TARGET_PASSWORD = "tgt-S3cret-pw"
#: Test servers own their data: durability off for speed.
FAST = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}

SEED_SQL = r"""
CREATE EXTENSION hstore;
CREATE SCHEMA app;
CREATE SCHEMA "Ünïcode Schema";

CREATE TABLE app.accounts (
    id int8 PRIMARY KEY, name text NOT NULL, email varchar(100), balance numeric(12, 2),
    score float8, active bool, created timestamptz, born date, tags text[], meta jsonb,
    note text, blob bytea, uid uuid, flags hstore
);
INSERT INTO app.accounts
SELECT i, 'name ' || i, 'user' || i || '@example.com', (i * 7 % 100000) / 100.0,
       i / 3.0, i % 3 = 0, timestamptz '2024-01-01 00:00:00+00' + i * interval '1 minute',
       date '1970-01-01' + (i % 20000), ARRAY['t' || (i % 5), 't' || (i % 7)],
       jsonb_build_object('i', i, 'odd', i % 2 = 1),
       CASE WHEN i % 10 = 0 THEN NULL WHEN i % 10 = 1 THEN '' ELSE 'note ' || i END,
       decode(md5(i::text), 'hex'), md5(i::text)::uuid, hstore('k', i::text)
  FROM generate_series(1, 25000) i;
CREATE INDEX accounts_name_idx ON app.accounts (name);
CREATE VIEW app.active_accounts AS SELECT id, name FROM app.accounts WHERE active;

CREATE TABLE app.docs (id int PRIMARY KEY, body text);
INSERT INTO app.docs
SELECT i, (SELECT string_agg(md5(i || '-' || j), '') FROM generate_series(1, 4000) j)
  FROM generate_series(1, 5) i;

CREATE TABLE app.textkey (code text PRIMARY KEY, v int);
INSERT INTO app.textkey SELECT md5(i::text), i FROM generate_series(1, 12000) i;

CREATE TABLE app.composite (tenant int, code text, qty int, PRIMARY KEY (tenant, code));
INSERT INTO app.composite SELECT t, 'c-' || lpad(i::text, 5, '0'), t * i
  FROM generate_series(1, 3) t, generate_series(1, 2000) i;

CREATE TABLE app.nokey (a int, b text);
INSERT INTO app.nokey SELECT i % 50, 'b' || (i % 50) FROM generate_series(1, 100) i;

CREATE TABLE app.empty (id int PRIMARY KEY, v text);

CREATE TABLE app.events (id int, at date, v text, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE app.events_2023 PARTITION OF app.events
  FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE app.events_2024 PARTITION OF app.events
  FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
INSERT INTO app.events SELECT i, date '2023-01-01' + (i % 700), 'e' || i
  FROM generate_series(1, 1400) i;

CREATE TABLE app.parent (id int PRIMARY KEY, v text);
CREATE TABLE app.child (extra int) INHERITS (app.parent);
INSERT INTO app.parent SELECT i, 'p' || i FROM generate_series(1, 100) i;
INSERT INTO app.child SELECT i, 'c' || i, i FROM generate_series(101, 150) i;

CREATE TABLE "Ünïcode Schema"."Mixed Case ""Quoted"" Täble" ("Id" uuid PRIMARY KEY, "Värde" text);
INSERT INTO "Ünïcode Schema"."Mixed Case ""Quoted"" Täble"
SELECT md5('u' || i)::uuid, 'värde ' || i FROM generate_series(1, 300) i;

CREATE SEQUENCE app.counter;
SELECT setval('app.counter', 500);
CREATE FUNCTION app.add(a int, b int) RETURNS int LANGUAGE sql AS 'select a + b';
ANALYZE;
"""

_counter = itertools.count(1)
#: (source major, target major); None: the wheel's 18.
MAJOR_PAIRS = [(None, None), (11, 16), (13, 17)]


def execute(server: PgServer, dbname: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    """Run SQL on a test server (autocommit); the rows of the last statement, if any."""
    with psycopg.connect(server.dsn(dbname), autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


@pytest.fixture(
    scope="session", params=MAJOR_PAIRS, ids=lambda p: f"{p[0] or 18}-to-{p[1] or 18}"
)
def servers(request: pytest.FixtureRequest) -> Iterator[tuple[PgServer, PgServer]]:
    source_major, target_major = request.param
    need_majors(*(m for m in request.param if m))
    # In the lab's scratch space, not under pytest's basetemp: the server user
    # can reach it, and concurrent pytest runs prune each other's old basetemps.
    with scratch() as base:

        def install(major: int | None) -> Any:
            return majors.reachable(majors.build(major), base) if major else None

        pair = (
            PgServer.create(
                base / "source",
                password=SOURCE_PASSWORD,
                settings=FAST,
                install=install(source_major),
            ),
            PgServer.create(
                base / "target",
                password=TARGET_PASSWORD,
                settings=FAST,
                install=install(target_major),
            ),
        )
        with ThreadPoolExecutor(2) as ex:
            list(ex.map(lambda s: s.start(), pair))
            seed = SEED_SQL.replace("CREATE EXTENSION hstore;", common_hstore(pair))
            list(
                ex.map(
                    lambda s: (
                        execute(s, "postgres", "CREATE DATABASE seed"),
                        execute(s, "seed", seed),
                    ),
                    pair,
                )
            )
        yield pair


def common_hstore(pair: tuple[PgServer, PgServer]) -> str:
    """hstore at the older of the two servers' default versions: a migration keeps the
    source's extension version (pg_upgrade does) unless someone updates it."""
    query = "SELECT default_version FROM pg_available_extensions WHERE name = 'hstore'"
    versions = [str(execute(server, "postgres", query)[0][0]) for server in pair]
    oldest = min(versions, key=lambda v: tuple(int(p) for p in v.split(".")))
    return f"CREATE EXTENSION hstore VERSION '{oldest}';"


@dataclass
class DbPair:
    """One database on each server, cloned from the seed."""

    source: PgServer
    target: PgServer
    name: str

    def on_source(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        return execute(self.source, self.name, sql, params)

    def on_target(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        return execute(self.target, self.name, sql, params)

    def uris(self) -> tuple[str, str]:
        return self.source.dsn(self.name), self.target.dsn(self.name)

    def endpoints(self) -> tuple[Endpoint, Endpoint]:
        src, tgt = self.uris()
        return resolve(src, "source"), resolve(tgt, "target")

    def verify(self, **options: Any) -> VerifyResult:
        src, tgt = self.endpoints()
        return verify(src, tgt, VerifyOptions(**options), sleep=lambda _s: None)


def flush_counters(server: PgServer) -> str:
    """SQL that publishes a session's write counters now: a function from 15 on; up to 14
    the statistics collector hears of them when the session ends (``execute`` ends it)."""
    return "; SELECT pg_stat_force_next_flush()" if server.major >= 15 else ""


def clone(servers: tuple[PgServer, PgServer], name: str, template: str = "seed") -> DbPair:
    for server in servers:
        execute(server, "postgres", f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return DbPair(servers[0], servers[1], name)


def drop(pair: DbPair) -> None:
    for server in (pair.source, pair.target):
        if server.major >= 13:
            execute(server, "postgres", f'DROP DATABASE IF EXISTS "{pair.name}" WITH (FORCE)')
            continue
        execute(
            server,
            "postgres",
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (pair.name,),
        )
        execute(server, "postgres", f'DROP DATABASE IF EXISTS "{pair.name}"')


@pytest.fixture
def db(servers: tuple[PgServer, PgServer], request: pytest.FixtureRequest) -> Iterator[DbPair]:
    """A fresh pair of identical databases for this test."""
    name = re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:40] + f"_{next(_counter)}"
    pair = clone(servers, name)
    try:
        yield pair
    finally:
        drop(pair)


@pytest.fixture
def empty_db(
    servers: tuple[PgServer, PgServer], request: pytest.FixtureRequest
) -> Iterator[DbPair]:
    """A fresh pair of empty databases."""
    name = re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:40] + f"_{next(_counter)}"
    pair = clone(servers, name, template="template1")
    try:
        yield pair
    finally:
        drop(pair)

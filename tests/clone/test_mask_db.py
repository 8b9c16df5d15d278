"""The SQL of masking on a throwaway PostgreSQL server: what each strategy writes,
keys hashed without collisions, NULL kept NULL, triggers kept quiet, and the
proof's counts -- plus the checks only a server can make."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from snapmigrate.clone import rules as R
from snapmigrate.db.connect import Endpoint, connect
from snapmigrate.db.mask import Keys, MaskRun
from snapmigrate.db.mask_catalog import check_plans, read_facts
from snapmigrate.errors import BadInput

pytestmark = pytest.mark.slow

SEED = [
    """CREATE TABLE kinds (
        small smallint PRIMARY KEY, big bigint NOT NULL UNIQUE, id uuid NOT NULL,
        code varchar(20) NOT NULL, mail text, phone text, who varchar(30), label text)""",
    """INSERT INTO kinds SELECT g, g::bigint * 1000003, md5(g::text)::uuid, 'code-' || g,
         CASE WHEN g % 5 = 0 THEN NULL ELSE 'u' || g || '@corp.example' END,
         CASE WHEN g % 7 = 0 THEN NULL ELSE '+44 20 7946 ' || lpad(g::text, 4, '0') END,
         'Person ' || g, 'label ' || g
       FROM generate_series(0, 30000) AS g""",
    "CREATE TABLE touched (n int)",
    """CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS
       $$ BEGIN INSERT INTO touched VALUES (1); RETURN NEW; END $$""",
    "CREATE TRIGGER t BEFORE UPDATE ON kinds FOR EACH ROW EXECUTE FUNCTION touch()",
]
RULES = """
[[mask]]
table = "kinds"
column = "small"
strategy = "hash"
[[mask]]
table = "kinds"
column = "big"
strategy = "hash"
[[mask]]
table = "kinds"
column = "id"
strategy = "hash"
[[mask]]
table = "kinds"
column = "code"
strategy = "hash"
[[mask]]
table = "kinds"
column = "mail"
strategy = "email"
[[mask]]
table = "kinds"
column = "phone"
strategy = "phone"
[[mask]]
table = "kinds"
column = "who"
strategy = "name"
"""


@pytest.fixture(scope="module")
def db() -> Iterator[Endpoint]:
    from snapmigrate_lab.postgres import running

    with running() as server:
        endpoint = Endpoint(
            "t", "127.0.0.1", server.port, user=server.user, password=server.password
        )
        with connect(endpoint, "postgres") as conn:
            for statement in SEED:
                conn.execute(statement)  # fixed test text
        yield endpoint


def rows(endpoint: Endpoint, query: str) -> list[tuple[Any, ...]]:
    with connect(endpoint, "postgres") as conn:
        return conn.execute(query).fetchall()  # fixed test text


def plans(endpoint: Endpoint, text: str) -> dict[str, Any]:
    found = R.parse(text)
    databases, facts = read_facts(endpoint, [(t.database, t.schema, t.name) for t in found.tables])
    R.check(found, facts, databases)
    made = R.plans(found, facts)
    check_plans(endpoint, made)
    return made


def test_every_strategy_writes_its_shape_and_the_proof_counts_nothing_kept(db: Endpoint) -> None:
    before = rows(
        db, "SELECT small, big, id, code, mail, phone, who, label FROM kinds ORDER BY small"
    )
    (proof,) = MaskRun(db, "postgres", plans(db, RULES)["postgres"], Keys(), batch_rows=4000).run()
    assert proof.clean and proof.batches == 8 and proof.rows == 30001
    assert [c.kept_values for c in proof.columns] == [0] * 7 and proof.rest_changed == 0
    after = rows(
        db, "SELECT small, big, id, code, mail, phone, who, label FROM kinds ORDER BY label"
    )
    assert len({r[0] for r in after}) == len({r[1] for r in after}) == 30001  # no collision
    assert all(r[0] < 0 and r[1] < 0 for r in after)  # keyed bijections onto the negatives
    assert all(len(r[3]) == 20 for r in after)  # varchar(20): the hash fits
    assert sum(r[4] is None for r in after) == sum(r[4] is None for r in before)  # NULL kept
    assert all(re.fullmatch(r"user_[0-9a-f]{10}@example\.com", r[4]) for r in after if r[4])
    pattern = re.compile(r"\+\d\d \d\d \d{4} \d{4}")
    assert all(pattern.fullmatch(r[5]) for r in after if r[5])  # the phone's format kept
    assert all(" " in r[6] and not r[6].startswith("Person") for r in after)
    assert sorted(r[7] for r in after) == sorted(r[7] for r in before)  # the rest untouched
    assert {r[4] for r in before} & {r[4] for r in after} == {None}
    assert rows(db, "SELECT count(*) FROM touched") == [(0,)]  # no trigger fired
    # deterministic within a clone: the same value gets the same fake everywhere
    assert len({r[4] for r in after if r[4]}) == len({r[4] for r in before if r[4]})


def test_a_rule_that_keeps_values_is_counted(db: Endpoint) -> None:
    leaky = '[[mask]]\ntable = "kinds"\ncolumn = "label"\nstrategy = "sql"\nexpression = "label"\n'
    (proof,) = MaskRun(db, "postgres", plans(db, leaky)["postgres"], Keys()).run()
    assert not proof.clean and proof.columns[0].kept_values == 30001


def test_what_only_the_server_can_refuse(db: Endpoint) -> None:
    with connect(db, "postgres") as conn:
        conn.execute("CREATE TABLE signed (n int PRIMARY KEY, d date)")
        conn.execute("INSERT INTO signed VALUES (-1, '2020-01-01'), (1, NULL)")
    cases = {
        "hash of integers needs values >= 0, the source holds -1": (
            '[[mask]]\ntable = "signed"\ncolumn = "n"\nstrategy = "hash"\n'
        ),
        "constant does not fit": (
            '[[mask]]\ntable = "signed"\ncolumn = "d"\nstrategy = "constant"\nvalue = "soon"\n'
        ),
        "sql does not fit": (
            '[[mask]]\ntable = "signed"\ncolumn = "d"\nstrategy = "sql"\nexpression = "nope(d)"\n'
        ),
    }
    for message, text in cases.items():
        with pytest.raises(BadInput, match=message):
            plans(db, text)
    assert rows(db, "SELECT count(*) FROM signed") == [(2,)]  # read-only checks

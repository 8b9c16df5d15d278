"""Masking rules: the TOML layout and every check against a catalog -- pure, no
database (the catalog facts are records)."""

from __future__ import annotations

import pytest

from snapmigrate.clone import rules
from snapmigrate.db.mask_catalog import ColumnFacts, ForeignKey, TableFacts
from snapmigrate.db.scope import TableRef
from snapmigrate.errors import BadInput

DOC_EXAMPLE = """
[[mask]]
table = "public.people"        # schema.table; "people" means public.people
column = "email"
strategy = "email"

[[mask]]
table = "public.people"
column = "name"
strategy = "hash"

[[mask]]
table = "public.people"
column = "note"
strategy = "constant"
value = "redacted"

[[empty]]
table = "public.audit_log"
"""


def col(name: str, base: str = "text", **kw: object) -> ColumnFacts:
    type_ = {"text": "text", "int4": "integer", "date": "date", "varchar": "character varying"}
    return ColumnFacts(name, type_.get(base, base), base, **kw)  # type: ignore[arg-type]


ORDERS_FK = ForeignKey("public.orders", ("person_id",), "public.people", ("id",))
PEOPLE = TableFacts(
    "app",
    "public",
    "people",
    {
        c.name: c
        for c in (
            col("id", "int4", not_null=True),
            col("email", "varchar", max_length=80),
            col("name", not_null=True),
            col("note"),
            col("born", "date"),
            col("code", "varchar", max_length=8),
            col("total", "numeric", generated=True),
        )
    },
    primary_key=("id",),
    referenced_by=(ORDERS_FK,),
)
ORDERS = TableFacts(
    "app",
    "public",
    "orders",
    {c.name: c for c in (col("id", "int8", not_null=True), col("person_id", "int4"))},
    primary_key=("id",),
    foreign_keys=(ORDERS_FK,),
)
AUDIT = TableFacts("app", "public", "audit_log", {"who": col("who")})
FOUND = [PEOPLE, ORDERS, AUDIT]


def test_the_documented_example_parses() -> None:
    found = rules.parse(DOC_EXAMPLE)
    assert [(r.table, r.column, r.strategy) for r in found.masks] == [
        (TableRef("public", "people"), "email", "email"),
        (TableRef("public", "people"), "name", "hash"),
        (TableRef("public", "people"), "note", "constant"),
    ]
    assert found.masks[2].value == "redacted"
    assert found.empty == (TableRef("public", "audit_log"),)
    assert len(found.digest) == 16 and found.digest == rules.digest(DOC_EXAMPLE)
    rules.check(found, FOUND, ["app"])
    assert found.summary().startswith("mask 3 column(s) in 1 table(s), empty 1 table(s)")


def test_a_bare_table_name_means_public() -> None:
    found = rules.parse('[[mask]]\ntable = "people"\ncolumn = "note"\nstrategy = "null"\n')
    assert found.masks[0].table == TableRef("public", "people")


P = "[[mask]]\ntable = 'p'\ncolumn = 'c'\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[mask]\n", "not valid TOML"),
        ("[[masks]]\ntable = 'x'\n", "unknown section 'masks'"),
        ("", "names nothing to mask"),
        (P + "strategy = 'scramble'\n", "unknown strategy"),
        (P + "strategy = 'constant'\n", "needs a value"),
        (P + "strategy = 'hash'\nvalue = 1\n", "only strategy constant"),
        (P + "strategy = 'sql'\n", "expression must be"),
        ("[[mask]]\ntable = 'p'\nstrategy = 'null'\n", "column must be a non-empty string"),
        (P + "strategy = 'null'\ncolour = 'x'\n", "unknown key 'colour'"),
        (P + "strategy = 'null'\n" + P + "strategy = 'null'\n", "has two rules"),
        (P + "strategy = 'null'\n[[empty]]\ntable = 'p'\n", "both masked and emptied"),
    ],
)  # fmt: skip
def test_a_bad_file_is_one_line_saying_what(text: str, message: str) -> None:
    with pytest.raises(BadInput, match=message) as caught:
        rules.parse(text)
    assert "\n" not in str(caught.value)


def _mask(table: str, column: str, strategy: str, extra: str = "") -> str:
    return f'[[mask]]\ntable = "{table}"\ncolumn = "{column}"\nstrategy = "{strategy}"\n{extra}'


HASH_KEYS = _mask("people", "id", "hash") + _mask("orders", "person_id", "hash")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_mask("clients", "email", "email"), "table public.clients is not in any database"),
        (_mask("people", "mail", "email"), "column 'mail' is not in public.people"),
        (_mask("people", "born", "email"), "strategy email does not fit type date"),
        (_mask("people", "born", "hash"), "strategy hash does not fit type date"),
        (_mask("people", "name", "null"), "NOT NULL and cannot be set to null"),
        (_mask("people", "id", "null"), "a primary key column is masked only with strategy hash"),
        (_mask("orders", "person_id", "constant", 'value = "1"\n'), "a foreign key column is"),
        (_mask("people", "id", "hash"), "public.orders.person_id is tied to it by a foreign key"),
        (_mask("orders", "person_id", "hash"), "public.people.id is tied to it"),
        (_mask("audit_log", "who", "null"), "has no primary key"),
        (_mask("people", "total", "null"), "is generated and cannot be updated"),
        (_mask("people", "code", "email"), "too short for strategy email"),
        ('[[empty]]\ntable = "people"\n', "cannot be emptied: public.orders refers to it"),
        ('[[empty]]\ntable = "people"\ndatabase = "crm"\n', "database 'crm' is not on the source"),
    ],
)  # fmt: skip
def test_rules_are_checked_against_the_catalog(text: str, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        rules.check(rules.parse(text), FOUND, ["app"])


def test_hashed_keys_with_every_reference_hashed_pass_and_plan_per_database() -> None:
    found = rules.parse(HASH_KEYS + '[[empty]]\ntable = "orders"\n'.replace("orders", "audit_log"))
    rules.check(found, FOUND, ["app"])
    plans = rules.plans(found, FOUND)
    assert list(plans) == ["app"]
    by_name = {p.name: p for p in plans["app"]}
    assert by_name["people"].key == ("id",) and by_name["people"].rules[0].strategy == "hash"
    assert by_name["audit_log"].empty and not by_name["audit_log"].rules
    assert by_name["people"].types["id"] == ("integer", "int4", None)


def test_emptying_a_table_with_the_tables_that_refer_to_it_passes() -> None:
    found = rules.parse('[[empty]]\ntable = "people"\n[[empty]]\ntable = "orders"\n')
    rules.check(found, FOUND, ["app"])


def test_a_table_in_two_databases_is_masked_in_both() -> None:
    other = TableFacts("crm", "public", "audit_log", {"who": col("who")})
    found = rules.parse('[[empty]]\ntable = "audit_log"\n')
    rules.check(found, [*FOUND, other], ["app", "crm"])
    assert set(rules.plans(found, [*FOUND, other])) == {"app", "crm"}
    pinned = rules.parse('[[empty]]\ntable = "audit_log"\ndatabase = "crm"\n')
    assert set(rules.plans(pinned, [*FOUND, other])) == {"crm"}

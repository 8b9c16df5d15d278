"""The preflight of --catch-up logical: pure rules, no AWS, no PostgreSQL."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from snapmigrate.db.logical import DatabaseFacts, SourceFacts
from snapmigrate.errors import BadInput
from snapmigrate.migrate import build, read_plan
from snapmigrate.model import Instance, Plan, QualifiedTable, SourceCluster
from snapmigrate.plan.catchup import has_start_lsn
from snapmigrate.plan.discover import NameState
from snapmigrate.plan.options import PlanOptions, validate_options
from snapmigrate.plan.publisher import PublisherFacts
from snapmigrate.plan.rules import Inputs
from snapmigrate.plan.spec import preflight
from tests.test_preflight import v1_source

T = QualifiedTable


def provisioned(**kw: Any) -> SourceCluster:
    base: dict[str, Any] = dict(
        engine_mode="provisioned",
        engine_version="15.4",
        v1_scaling=None,
        parameter_group="default.aurora-postgresql15",
        parameter_group_family="aurora-postgresql15",
        master_username="postgres",
        instances=(Instance("legacy-1", "db.r6g.large", "us-east-1a", True, "available"),),
    )
    base.update(kw)
    return v1_source(**base)


def server(*databases: DatabaseFacts, **kw: Any) -> SourceFacts:
    base: dict[str, Any] = dict(
        wal_level="logical",
        version_num=150004,
        max_replication_slots=20,
        slots_used=0,
        max_wal_senders=20,
        superuser=False,
        replication=False,
        rds_superuser=True,
        rds_replication=True,
        user="postgres",
        databases=databases or (DatabaseFacts("app", (T("app", "public", "orders"),)),),
    )
    base.update(kw)
    return SourceFacts(**base)


def publisher(facts_: SourceFacts | None = None, **kw: Any) -> PublisherFacts:
    base: dict[str, Any] = dict(
        group="default.aurora-postgresql15", group_value="0", writer="legacy-1", server=facts_
    )
    base.update(kw)
    return PublisherFacts(**base)


def run(source: SourceCluster | None = None, pub: PublisherFacts | None = None, **opts: Any):
    source = source or provisioned()
    options = validate_options(
        PlanOptions(**{"target": "fresh", "catch_up": "logical", **opts}), source.identifier
    )
    inp = Inputs(
        source=source,
        options=options,
        snapshot=None,
        name_state=NameState(options.target, exists=False),
        zone_state=None,
        catalog=None,
        facts_note=None,
        today=date(2026, 11, 24),
        publisher=pub if pub is not None else publisher(server()),
    )
    spec, findings = preflight(inp)
    return spec, {f.code: f for f in findings}


def test_a_v1_source_is_blocked_with_the_reason_the_doc_and_what_to_do():
    spec, by_code = run(source=v1_source(), pub=PublisherFacts())
    found = by_code["catch-up-source-mode"]
    assert found.level == "block"
    assert "Aurora Serverless v1 has no logical replication" in found.message
    assert "aurora-serverless.html" in found.message
    assert "--freeze-before-snapshot" in found.message and "provisioned" in found.message
    assert spec.catch_up.logical and "catch-up-wal-level" not in by_code


def test_a_ready_source_plans_the_catch_up_steps_in_order():
    spec, by_code = run()
    assert {f.level for f in by_code.values() if f.code.startswith("catch-up")} == {"ok"}
    assert spec.catch_up.databases == ("app",) and spec.catch_up.prepare is None
    assert spec.catch_up.max_retained_wal_bytes == 100 * 1024**3
    names = [s.name for s in build(spec, provisioned())]
    assert names == [
        "publication", "snapshot", "restore", "instances", "settings", "subscription", "verify"
    ]  # fmt: skip


def test_no_catch_up_plans_none_of_its_steps():
    spec, _ = run(catch_up="none")
    assert not spec.catch_up.logical
    names = {s.name for s in build(spec, provisioned())}
    assert not names & {"prepare-source", "publication", "subscription"}


def test_a_source_that_does_not_publish_blocks_and_says_how():
    _, by_code = run(pub=publisher(server(wal_level="replica")))
    found = by_code["catch-up-wal-level"]
    assert found.level == "block"
    assert "rds.logical_replication = 1" in found.message and "--prepare-source" in found.message


def test_a_group_set_but_not_rebooted_is_recognised():
    pub = publisher(server(wal_level="replica"), group="mine", group_value="1", pending_reboot=True)
    _, by_code = run(pub=pub)
    assert "has not rebooted" in by_code["catch-up-wal-level"].message


def test_a_source_prepared_outside_the_tool_is_ready():
    pub = publisher(server(), group="mine", group_value="1")
    spec, by_code = run(pub=pub)
    assert by_code["catch-up-wal-level"].level == "ok"
    assert "mine" in by_code["catch-up-wal-level"].message
    assert spec.catch_up.prepare is None


def test_prepare_source_copies_a_custom_group_and_says_the_reboot_is_an_outage():
    pub = publisher(server(wal_level="replica"), group="shared", group_value="0")
    spec, by_code = run(pub=pub, prepare_source=True)
    found = by_code["catch-up-wal-level"]
    assert found.level == "warn" and "SHORT OUTAGE" in found.message
    prepare = spec.catch_up.prepare
    assert prepare is not None
    assert (prepare.new_group, prepare.copy_from, prepare.writer) == (True, "shared", "legacy-1")
    assert [s.name for s in build(spec, provisioned())][:2] == ["prepare-source", "publication"]


def test_prepare_source_only_reboots_when_the_group_has_the_parameter():
    pub = publisher(server(wal_level="replica"), group="mine", group_value="1")
    spec, _ = run(pub=pub, prepare_source=True)
    assert spec.catch_up.prepare is not None and spec.catch_up.prepare.new_group is False


def test_tables_without_a_key_block_by_name_and_full_fixes_exactly_those():
    logs = T("app", "public", "audit_log")
    db = DatabaseFacts(
        "app",
        (T("app", "public", "orders"), logs, T("app", "public", "keyed")),
        no_identity=(logs,),
        full_identity=(T("app", "public", "keyed"),),
    )
    spec, by_code = run(pub=publisher(server(db)))
    found = by_code["catch-up-replica-identity"]
    assert found.level == "block" and "app.public.audit_log" in found.message
    assert "--replica-identity-full" in found.message
    spec, by_code = run(pub=publisher(server(db)), replica_identity_full=True)
    assert by_code["catch-up-replica-identity"].level == "warn"
    assert "more WAL" in by_code["catch-up-replica-identity"].message
    assert spec.catch_up.replica_identity_full == (logs,)


def test_what_logical_replication_does_not_carry_is_named():
    db = DatabaseFacts(
        "app",
        (T("app", "public", "orders"),),
        unlogged=(T("app", "public", "scratch"),),
        matviews=(T("app", "public", "totals"),),
        large_objects=3,
        sequences=4,
    )
    _, by_code = run(pub=publisher(server(db)))
    assert by_code["catch-up-unlogged"].level == "warn"
    assert by_code["catch-up-matviews"].level == "warn" and "REFRESH" in (
        by_code["catch-up-matviews"].message
    )
    assert by_code["catch-up-large-objects"].level == "warn"
    assert "4 sequence(s)" in by_code["catch-up-sequences"].message
    assert by_code["catch-up-ddl"].level == "ok"


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        ({"rds_superuser": False, "rds_replication": False}, "needs rds_superuser"),
        (
            {"databases": (DatabaseFacts("app", not_owned=(T("app", "s", "t"),)),)},
            "GRANT each owner",
        ),
    ],
)
def test_missing_privileges_block(kw: dict[str, Any], needle: str):
    _, by_code = run(pub=publisher(server(**kw)))
    assert by_code["catch-up-privileges"].level == "block"
    assert needle in by_code["catch-up-privileges"].message


def test_too_few_free_slots_block():
    dbs = tuple(DatabaseFacts(f"db{n}") for n in range(6))
    _, by_code = run(pub=publisher(server(*dbs, max_replication_slots=10, slots_used=5)))
    assert by_code["catch-up-slots"].level == "block"
    assert by_code["catch-up-workers"].level == "warn"


def test_an_unreachable_source_blocks():
    _, by_code = run(pub=publisher(None, unreachable="connection refused"))
    assert by_code["catch-up-connect"].level == "block"
    assert "connection refused" in by_code["catch-up-connect"].message


def test_a_major_upgrade_or_a_version_without_the_start_lsn_blocks():
    _, by_code = run(engine_version="16.4")
    assert by_code["catch-up-version"].level == "block"
    _, by_code = run(source=provisioned(engine_version="13.5"), engine_version="13.6")
    assert by_code["catch-up-version"].level == "ok"  # the restore is at 13.6
    assert not has_start_lsn("13.5") and has_start_lsn("13.6") and has_start_lsn("16.1")
    assert has_start_lsn("15.2") and not has_start_lsn("15.1") and has_start_lsn("17.4")


def test_a_managed_password_warns_about_rotation():
    _, by_code = run(source=provisioned(master_user_secret_arn="arn:secret"))
    assert by_code["catch-up-password"].level == "warn"


@pytest.mark.parametrize(
    ("opts", "message"),
    [
        ({"catch_up": "physical"}, "--catch-up must be one of"),
        ({"replica_identity_full": True}, "--replica-identity-full needs --catch-up logical"),
        ({"prepare_source": True}, "--prepare-source needs --catch-up logical"),
        ({"catch_up": "logical", "snapshot": "snap-1"}, "--snapshot cannot be combined"),
        ({"catch_up": "logical", "max_retained_wal_gb": 0}, "must be positive"),
    ],
)
def test_bad_catch_up_options_are_rejected_before_any_aws_call(opts: dict[str, Any], message: str):
    with pytest.raises(BadInput, match=message):
        validate_options(PlanOptions(target="fresh", **opts), "legacy")


def test_the_plan_json_shows_the_catch_up_under_target_and_reads_back():
    source = provisioned()
    table = T("app", "public", "t")
    facts_ = server(DatabaseFacts("app", (table,), no_identity=(table,)), wal_level="replica")
    pub = publisher(facts_, group="mine", group_value="0")
    spec, _ = run(source=source, replica_identity_full=True, prepare_source=True, pub=pub)
    plan = Plan(source, spec, (), build(spec, source))
    data = json.loads(json.dumps(plan.to_dict()))
    catch_up = data["target"]["catch_up"]
    assert catch_up["mode"] == "logical" and catch_up["databases"] == ["app"]
    assert catch_up["replica_identity_full"] == [
        {"database": "app", "schema": "public", "table": "t"}
    ]
    assert catch_up["prepare"]["copy_from"] == "mine"
    again = read_plan(data)
    assert again.target.catch_up == spec.catch_up and again.steps == plan.steps

"""The cutover's pure decisions, without the lab: options, guardrails, the plan's
cutover checks, and the journal section read back as it was written."""

from __future__ import annotations

import pytest

from snapmigrate.aws.route53 import Record
from snapmigrate.cutover import guardrails
from snapmigrate.cutover.options import resolve_options
from snapmigrate.cutover.state import CutoverOptions, CutoverState, Guardrail
from snapmigrate.cutover.swap import MODES, check_plan_options, describe, plan_cutover, swap_for
from snapmigrate.db.freeze import LongTransaction
from snapmigrate.errors import BadInput, PreflightBlocked
from snapmigrate.model import CutoverSpec, SourceCluster
from snapmigrate.plan.discover import ZoneState

DNS_PLAN = CutoverSpec(mode="dns", zone_id="Z1", record_name="db.example.com")
NO_PLAN = CutoverSpec()
SOURCE_EP = "legacy.cluster-a.us-east-1.rds.amazonaws.com"
TARGET_EP = "fresh.cluster-b.us-east-1.rds.amazonaws.com"


def given(mode: str = "", **kw: object) -> CutoverOptions:
    return CutoverOptions(mode=mode, **kw)  # type: ignore[arg-type]


# -- options ----------------------------------------------------------------------


def test_the_plan_supplies_the_mode_and_the_record():
    options = resolve_options(None, DNS_PLAN, CutoverState())
    assert (options.mode, options.zone_id, options.record_name) == ("dns", "Z1", "db.example.com")


def test_what_is_given_wins_over_the_plan():
    options = resolve_options(
        given("dns", record_name="other.example.com"), DNS_PLAN, CutoverState()
    )
    assert (options.zone_id, options.record_name) == ("Z1", "other.example.com")
    assert resolve_options(given("rename"), DNS_PLAN, CutoverState()).mode == "rename"


def test_an_earlier_attempt_supplies_what_is_left_out():
    earlier = CutoverState(
        mode="dns", state="interrupted", options=given("dns", zone_id="Z9", record_name="x.example")
    )
    options = resolve_options(None, NO_PLAN, earlier)
    assert (options.mode, options.zone_id, options.record_name) == ("dns", "Z9", "x.example")


def test_no_mode_anywhere_says_how_to_choose():
    with pytest.raises(BadInput, match="say how to cut over: --mode dns"):
        resolve_options(None, NO_PLAN, CutoverState())


def test_an_unknown_mode_is_bad_input():
    with pytest.raises(BadInput, match="--mode must be dns or rename"):
        resolve_options(given("blue-green"), NO_PLAN, CutoverState())


def test_an_unfinished_cutover_keeps_its_mode():
    earlier = CutoverState(mode="dns", state="failed")
    with pytest.raises(BadInput, match="a dns cutover of this run is unfinished"):
        resolve_options(given("rename"), NO_PLAN, earlier)
    after_rollback = CutoverState(mode="dns", state="rolled-back")
    assert resolve_options(given("rename"), NO_PLAN, after_rollback).mode == "rename"


def test_dns_needs_a_record_and_rename_takes_none():
    with pytest.raises(BadInput, match="--mode dns needs --dns-zone-id and --dns-name"):
        resolve_options(given("dns", zone_id="Z1"), NO_PLAN, CutoverState())
    with pytest.raises(BadInput, match="only apply with --mode dns"):
        resolve_options(given("rename", set_identifier="blue"), NO_PLAN, CutoverState())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (given("rename", verify_mode="exact"), "--verify must be checksum or counts"),
        (
            given("rename", timeout_s=-1.0),
            "--timeout, --prove-timeout and --long-transaction-seconds must be positive",
        ),
        (given("rename", prove_timeout_s=-5.0), "must be positive"),
        (given("rename", timeout_s=300.0), r"must be longer than the proof window \(10 min\)"),
        (given("rename", long_transaction_s=-1.0), "must be positive"),
    ],
)
def test_bad_limits_are_bad_input(options: CutoverOptions, message: str):
    with pytest.raises(BadInput, match=message):
        resolve_options(options, NO_PLAN, CutoverState())


# -- guardrails --------------------------------------------------------------------


def instance(name: str, status: str = "available") -> dict[str, str]:
    return {"DBInstanceIdentifier": name, "DBInstanceStatus": status}


def test_the_target_and_every_instance_must_be_available():
    ok = guardrails.target_available("fresh", "available", [instance("w"), instance("r")])
    assert ok == Guardrail("target available", True, "fresh and its 2 instance(s) are available")
    busy = guardrails.target_available(
        "fresh", "available", [instance("w"), instance("r", "modifying")]
    )
    assert not busy.passed and busy.message == "fresh: cluster available; instances r modifying"
    empty = guardrails.target_available("fresh", "modifying", [])
    assert not empty.passed and empty.message == "fresh: cluster modifying; no instance"


def test_long_transactions_are_listed_five_at_most():
    assert guardrails.long_transactions([], 60).passed
    found = [LongTransaction(pid, "app", "etl", 90.0 + pid) for pid in range(7)]
    check = guardrails.long_transactions(found, 60)
    assert not check.passed and check.message.startswith(
        "7 open longer than 60 s: pid 0 (etl@app, 90 s)"
    )
    assert "pid 4 " in check.message and "pid 5 " not in check.message


def test_the_record_must_point_at_the_source_or_already_at_the_target():
    record = Record("Z1", "db.example.com.", SOURCE_EP, 60)
    assert guardrails.dns_record(
        record, SOURCE_EP + ".", TARGET_EP
    ).passed  # names compare as FQDNs
    moved = Record("Z1", "db.example.com.", TARGET_EP, 60)
    assert guardrails.dns_record(moved, SOURCE_EP, TARGET_EP).passed  # a resume
    elsewhere = guardrails.dns_record(
        Record("Z1", "db.example.com.", "x.example.net", 60), SOURCE_EP, TARGET_EP
    )
    assert elsewhere == Guardrail(
        "dns record",
        False,
        "db.example.com points at x.example.net, neither the source nor the target",
    )


def test_rename_names_collide_only_with_another_cluster():
    free = guardrails.rename_collision(
        "legacy",
        "legacy-old-1",
        "0badcafe",
        old_exists=False,
        old_is_target=False,
        source_is_foreign=True,
    )
    assert free is None
    half_way = guardrails.rename_collision(
        "legacy",
        "legacy-old-1",
        "0badcafe",
        old_exists=True,
        old_is_target=False,
        source_is_foreign=False,
    )
    assert half_way is None  # the target already took the name: a resume
    both = guardrails.rename_collision(
        "legacy",
        "legacy-old-1",
        "0badcafe",
        old_exists=True,
        old_is_target=False,
        source_is_foreign=True,
    )
    assert both is not None and "a name collision" in both
    odd = guardrails.rename_collision(
        "legacy",
        "legacy-old-1",
        "0badcafe",
        old_exists=True,
        old_is_target=True,
        source_is_foreign=False,
    )
    assert odd is not None and "snapmigrate rollback 0badcafe" in odd


def test_the_postpone_flag_line_says_how_long_it_held():
    assert guardrails.postponed(None, 0) == Guardrail("postpone flag", True, "none given")
    assert guardrails.postponed("/tmp/hold", 0).message == "/tmp/hold absent"
    assert guardrails.postponed("/tmp/hold", 15).message == "/tmp/hold absent (waited 15 s)"


def test_any_failed_guardrail_blocks_with_exit_4_and_names_it():
    passed = Guardrail("a", True, "fine")
    assert guardrails.verdict([passed, passed]) == "2 checks passed"
    with pytest.raises(
        PreflightBlocked, match=r"1 guardrail\(s\) failed, nothing was changed: b: broken"
    ) as err:
        guardrails.verdict([passed, Guardrail("b", False, "broken")])
    assert err.value.exit_code == 4


# -- the plan's cutover -------------------------------------------------------------


def source(endpoint: str | None = SOURCE_EP) -> SourceCluster:
    return SourceCluster(
        "legacy", "arn", "aurora-postgresql", "13.12", "serverless", "available", endpoint=endpoint
    )


@pytest.mark.parametrize(
    ("mode", "zone", "name", "message"),
    [
        ("dns", "Z1", None, "--cutover dns needs --dns-zone-id and --dns-name"),
        ("none", "Z1", None, "--dns-zone-id/--dns-name only apply with --cutover dns"),
        ("rename", None, "db.example.com", "only apply with --cutover dns"),
        ("blue-green", None, None, "--cutover must be none, dns or rename"),
    ],
)
def test_plan_options_are_checked_before_any_aws_call(mode, zone, name, message):
    with pytest.raises(BadInput, match=message):
        check_plan_options(mode, "legacy", zone, name)


def test_a_rename_must_leave_room_for_the_old_name():
    check_plan_options("rename", "a" * 50, None, None)
    with pytest.raises(BadInput, match="RDS allows 63; use --cutover dns"):
        check_plan_options("rename", "a" * 51, None, None)


def test_the_preflight_finding_follows_the_zone_and_record():
    zone = ZoneState(
        "Z1", True, "example.com.", private=True, record_exists=True, record_value=SOURCE_EP + "."
    )
    spec, level, message = plan_cutover("dns", source(), "fresh", "Z1", "db.example.com", zone)
    assert spec == DNS_PLAN and level == "ok" and "(private zone)" in message
    assert plan_cutover("dns", source(), "fresh", "Z1", "db", ZoneState("Z1", False))[1] == "block"
    missing = ZoneState("Z1", True, "example.com.", record_exists=False)
    assert plan_cutover("dns", source(), "fresh", "Z1", "db", missing)[1] == "block"
    elsewhere = ZoneState(
        "Z1", True, "example.com.", record_exists=True, record_value="x.example.net"
    )
    assert plan_cutover("dns", source(), "fresh", "Z1", "db", elsewhere)[1] == "warn"
    spec, level, message = plan_cutover("rename", source(), "fresh", None, None, None)
    assert spec.mode == "rename" and level == "ok" and "legacy becomes legacy-old-<run>" in message
    assert plan_cutover("none", source(), "fresh", None, None, None)[:2] == (CutoverSpec(), "ok")


def test_reports_name_the_mode_and_the_record():
    swapped = {"dns": {"writer": {"name": "db.example.com."}}, "rename": None}
    assert describe("dns", swapped) == "dns (db.example.com)"
    assert describe("dns", {"dns": None}) == "dns"
    assert describe("rename", swapped) == "rename"
    assert describe(None, {}) == "-"
    assert MODES == ("dns", "rename") and all(swap_for(m).mode == m for m in MODES)


# -- the journal section ---------------------------------------------------------------


def test_a_journal_section_reads_back_as_written():
    """Keys the cutover has not reached stay out, as before the section was typed."""
    written = {
        "mode": "dns",
        "options": given("dns", zone_id="Z1", record_name="db.example.com").to_dict(),
        "state": "rolled-back",
        "started": "2026-11-24T10:00:00.000+00:00",
        "error": "final verification failed",
        "phases": [
            {
                "name": "guardrails",
                "state": "done",
                "started": "s",
                "finished": "f",
                "outcome": "6 checks passed",
                "attempts": 1,
                "took_s": 0.5,
            },
            {
                "name": "verify",
                "state": "failed",
                "started": "s",
                "finished": "f",
                "outcome": "boom",
                "attempts": 2,
            },
        ],
        "drift": {"checked": False, "reason": "skipped: --no-connect"},
        "dns": {"writer": Record("Z1", "db.example.com.", SOURCE_EP, 60).to_dict()},
        "rollback": ["swap: db.example.com -> x (restored)"],
        "target_counters": None,
    }
    state = CutoverState.of(written)
    assert state.phase("verify") is not None and state.phase("verify").attempts == 2  # type: ignore[union-attr]
    assert (
        state.dns is not None and state.dns.writer.value == SOURCE_EP and state.dns.reader is None
    )
    assert state.to_dict() == written
    assert CutoverState.of({}).to_dict() == {"error": None, "target_counters": None}

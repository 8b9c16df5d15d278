"""The drill's pure parts: options, the checks' judgement, reports, evidence."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from snapmigrate.clone.lease import parse_duration
from snapmigrate.db.results import TableResult, VerifyResult
from snapmigrate.db.schema_diff import SchemaDifference
from snapmigrate.db.stats import Counts, TableKey, WriteCounters
from snapmigrate.drill import evidence
from snapmigrate.drill.checks import NO_HEARTBEAT, Judge
from snapmigrate.drill.options import check_options, parse_from
from snapmigrate.drill.result import Check, DrillResult, Phase, Targets, TornDown
from snapmigrate.drill.run import copy_name
from snapmigrate.errors import BadInput
from snapmigrate.report import drill as report


def test_durations_take_milliseconds_where_the_flag_allows_them() -> None:
    assert parse_duration("500ms", "--every", minimum=timedelta(milliseconds=100)) == timedelta(
        milliseconds=500
    )
    with pytest.raises(BadInput, match="--every '50ms' is too short: at least 100ms"):
        parse_duration("50ms", "--every", minimum=timedelta(milliseconds=100))
    with pytest.raises(BadInput, match="too short: at least 1s"):
        parse_duration("500ms", "--ttl")


@pytest.mark.parametrize(
    ("text", "kind", "shown"),
    [
        ("latest-snapshot", "latest-snapshot", "latest-snapshot"),
        ("snapshot:s-1", "snapshot", "snapshot:s-1"),
        ("pitr:latest", "pitr-latest", "pitr:latest"),
        ("pitr:2026-01-31T18:00:00Z", "pitr-time", "pitr:2026-01-31T18:00:00+00:00"),
    ],
)
def test_recovery_points_are_parsed(text: str, kind: str, shown: str) -> None:
    choice = parse_from(text)
    assert (choice.kind, str(choice)) == (kind, shown)


@pytest.mark.parametrize(
    ("flags", "why"),
    [
        ({"from_": "yesterday"}, "is not a recovery point"),
        ({"from_": "pitr:2026-01-31T18:00:00"}, "has no zone"),
        ({"check": "schema,rows"}, "'rows' is not a check"),
        ({"check": "sql:/no/such/file.sql"}, "no such file"),
        ({"inject": "corrupt-row"}, "needs --heartbeat"),
        ({"inject": "corrupt-row", "heartbeat": "hb", "check": "counts"}, "add checksum"),
        ({"inject": "missing-table", "check": "counts"}, "add schema"),
        ({"inject": "stale-snapshot"}, "give --rpo-target"),
        ({"inject": "flood"}, "--inject must be one of"),
        ({"rpo_target": "soon"}, "--rpo-target 'soon' is not a duration"),
        ({"report": "out.pdf"}, "must end in .md, .html or .json"),
        ({"kms_key": "k"}, "goes with --to-region"),
    ],
)
def test_bad_flags_are_one_line_and_exit_2(flags: dict[str, str], why: str) -> None:
    with pytest.raises(BadInput, match=why) as raised:
        check_options("src", **flags)  # type: ignore[arg-type]
    assert raised.value.exit_code == 2 and "\n" not in str(raised.value)


def test_the_copy_name_fits_a_clone_name() -> None:
    assert copy_name("a" * 63, "0123abcd") == "a" * 38 + "-drill-0123abcd"
    assert len(copy_name("a" * 63, "0123abcd")) <= 53


def _counters(**tables: int) -> WriteCounters:
    found = {TableKey("app", "public", t): Counts(n, 0, 0) for t, n in tables.items()}
    return WriteCounters("2026-01-01T00:00:00+00:00", "s", found, {"app": None})


def _table(name: str, src: int, tgt: int, *, drift: bool = False, same: bool = True) -> TableResult:
    return TableResult("app", "public", name, source_rows=src, target_rows=tgt,
                       checksum_equal=same and src == tgt, drift=drift)  # fmt: skip


def test_with_a_heartbeat_drift_is_reported_and_an_unmoved_difference_fails_by_name() -> None:
    tables = (
        _table("orders", 10, 8, drift=True),
        _table("people", 5, 5, same=False),
        _table("plain", 3, 3),
    )
    result = VerifyResult("s", "t", "checksum", tables=tables)
    judge = Judge(result, _counters(orders=8, people=5), _counters(orders=10, people=5))
    counts, checksum = judge.counts(), judge.checksum()
    assert counts.passed and "drift: app public.orders (2 writes since)" in counts.detail
    assert not checksum.passed
    assert "differ without writes since the recovery point: app public.people" in checksum.detail


def test_without_a_heartbeat_differences_cannot_be_separated_but_read_errors_fail() -> None:
    tables = (_table("orders", 10, 8), TableResult("app", "public", "bad", 1, 1, error="io"))
    judge = Judge(VerifyResult("s", "t", "checksum", tables=tables), None, None)
    counts = judge.counts()
    assert not counts.passed and "unreadable: app public.bad: io" in counts.detail
    assert f"{NO_HEARTBEAT}: app public.orders" in counts.detail


def test_a_missing_object_fails_schema_unless_the_heartbeat_shows_it_is_newer() -> None:
    old = SchemaDifference("app", "table", "public.orders", "missing_on_target")
    new = SchemaDifference("app", "table", "public.fresh", "missing_on_target")
    behind = SchemaDifference("app", "sequence", "public.s", "behind")
    result = VerifyResult("s", "t", "counts", schema_differences=(old, new, behind))
    with_beat = Judge(result, _counters(orders=1), _counters(orders=1)).schema()
    assert not with_beat.passed and "table public.orders is missing" in with_beat.detail
    assert "reported, not failed: app table public.fresh" in with_beat.detail
    only_new = VerifyResult("s", "t", "counts", schema_differences=(new, behind))
    assert Judge(only_new, _counters(orders=1), None).schema().passed
    assert not Judge(only_new, None, None).schema().passed


def _result(**overrides: object) -> DrillResult:
    fields: dict[str, object] = dict(
        id="0123abcd", source="src", choice="latest-snapshot",
        recovery_point="manual snapshot s1 taken 2026-01-01T00:00:00+00:00", region="us-east-1",
        cluster="src-drill-0123abcd", t0="2026-01-01T00:10:00.000+00:00", rto_s=42.0,
        rpo_metadata_s=600.0, rpo_data_s=590.5,
        phases=(Phase("restore", "2026-01-01T00:10:00.000+00:00",
                      "2026-01-01T00:10:30.000+00:00", 30.0),),
        checks=(Check("schema", True, "inventory equal <ok>"),),
        targets=Targets(900.0, 60.0, True), teardown_done=True,
        resources=(TornDown("cluster", "src-drill-0123abcd", "deleted"),),
        caller="arn:aws:iam::123456789012:user/sre", tool_version="0.1.0",
    )  # fmt: skip
    fields.update(overrides)
    return DrillResult(**fields)  # type: ignore[arg-type]


def test_the_result_json_has_the_contract_keys_and_the_exit_code_follows_the_verdict() -> None:
    data = _result().to_dict()
    assert set(data) == {"drill", "t0", "rto_s", "rpo_s", "phases", "checks", "targets",
                         "teardown", "passed"}  # fmt: skip
    assert {"id", "source", "from", "recovery_point", "region", "cluster"} <= set(data["drill"])
    assert set(data["rpo_s"]) == {"metadata", "data"} and set(data["targets"]) == {
        "rpo_s", "rto_s", "met"
    }  # fmt: skip
    assert set(data["phases"][0]) == {"name", "started", "finished", "took_s"}
    assert data["passed"] is True and _result().exit_code == 0
    assert _result(targets=Targets(1.0, None, False)).exit_code == 3
    assert _result(checks=(Check("checksum", False, "x"),)).exit_code == 3


def test_reports_carry_the_evidence_an_auditor_needs(tmp_path: Path) -> None:
    for suffix in ("md", "html", "json"):
        path = tmp_path / f"drill.{suffix}"
        report.write_report(str(path), _result())
        text = path.read_text()
        assert "arn:aws:iam::123456789012:user/sre" in text and "0.1.0" in text
        assert "2026-01-01T00:10:30.000+00:00" in text and "0123abcd" in text
    assert "&lt;ok&gt;" in (tmp_path / "drill.html").read_text()
    assert json.loads((tmp_path / "drill.json").read_text())["rto_s"] == 42.0


def test_evidence_is_appended_and_history_plots_it(tmp_path: Path) -> None:
    state = str(tmp_path / "state")
    evidence.append(state, _result().to_dict())
    evidence.append(state, _result(id="0123abce", source="other", rto_s=80.0).to_dict())
    (Path(state) / "drills" / "evidence.jsonl").open("a").write("not json\n")
    assert [d["drill"]["id"] for d in evidence.read_all(state)] == ["0123abcd", "0123abce"]
    assert [d["drill"]["id"] for d in evidence.read_all(state, "other")] == ["0123abce"]
    page = report.history_html(evidence.read_all(state))
    assert page.count("<polyline") == 2 and "<script" not in page
    assert "80.0 s" in report.history_table(evidence.read_all(state))
    assert (Path(state) / "drills" / "evidence.jsonl").stat().st_mode & 0o777 == 0o600


def test_a_finished_drill_is_not_resumed_and_an_unknown_one_is_bad_input(tmp_path: Path) -> None:
    from snapmigrate.commands import Config, drill_resume

    config = Config(state_dir=str(tmp_path))
    record = {"id": "0123abcd", "source": "src", "state": "done", "flags": {}}
    evidence.save_record(config.state_dir, record)
    with pytest.raises(BadInput, match="drill 0123abcd is done: nothing to resume"):
        drill_resume(config, "0123abcd")
    with pytest.raises(BadInput, match="no drill 0123abce"):
        drill_resume(config, "0123abce")
    with pytest.raises(BadInput, match="is invalid"):
        drill_resume(config, "../etc")

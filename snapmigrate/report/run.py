"""A run as a human table: its steps, what they created, what to do next."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from snapmigrate.cutover.state import CutoverState
from snapmigrate.cutover.swap import MODES
from snapmigrate.inplace import outages, outages_json
from snapmigrate.migrate.catchup import status_of
from snapmigrate.progress import duration
from snapmigrate.report import format_table

if TYPE_CHECKING:
    from snapmigrate.migrate.cleanup import CleanupResult
    from snapmigrate.migrate.runner import RunResult
    from snapmigrate.workflow.journal import RunRecord

MARKS = {
    "done": "done",
    "skipped": "SKIPPED",
    "failed": "FAILED",
    "interrupted": "INTERRUPTED",
    "running": "running",
    "pending": "-",
}


def took(started: str | None, finished: str | None) -> str:
    if not started or not finished:
        return "-"
    seconds = (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
    return duration(max(0.0, seconds))


def _steps(record: RunRecord) -> str:
    rows = [
        (
            n,
            s.name,
            MARKS.get(s.state, s.state),
            took(s.started, s.finished),
            s.api_calls,
            s.error if s.state in ("failed", "interrupted") and s.error else (s.outcome or ""),
        )
        for n, s in enumerate(record.steps, 1)
    ]
    return format_table(["#", "STEP", "STATE", "TOOK", "API", "OUTCOME"], rows)


def _next(record: RunRecord) -> list[str]:
    lines = []
    if record.state in ("failed", "interrupted", "running"):
        lines.append(f"Continue with: snapmigrate migrate --resume {record.run_id}")
        return lines
    if record.state == "cleaned":
        return ["Its resources were deleted by 'snapmigrate cleanup'."]
    if (record.plan.get("target") or {}).get("path") == "in-place":
        return [
            f"Changed in place: clients stay on {record.target}. Write outages: "
            + (", ".join(f"{s} {_seconds(v)}" for s, v in outages(record)) or "none measured"),
            f"Adopt it in your IaC with: snapmigrate iac {record.run_id} --format "
            "terraform|cloudformation",
        ]
    try:
        verify = record.step("verify")
    except KeyError:
        verify = None
    if verify is not None and verify.state == "skipped":
        lines.append(
            f"NOT VERIFIED ({verify.outcome}): compare before any cutover: "
            f"snapmigrate verify --source {record.source} --target {record.target}"
        )
    cutover = CutoverState.of(record.cutover).state
    if record.state == "done" and cutover in (None, "blocked", "cancelled", "rolled-back"):
        lines.append(f"Cut over with: snapmigrate cutover {record.run_id} --mode {'|'.join(MODES)}")
    elif cutover in ("running", "interrupted", "failed"):
        lines.append(
            f"Cutover unfinished: resume with 'snapmigrate cutover {record.run_id}' or undo with "
            f"'snapmigrate rollback {record.run_id}'"
        )
    elif cutover == "done":
        lines.append(f"Cut over; the way back: snapmigrate rollback {record.run_id}")
    return lines


def _seconds(value: float | None) -> str:
    return f"{value:.2f} s" if value is not None else "not measured"


def status_table(record: RunRecord, *, note: str = "") -> str:
    """One run: header, steps, what it created, what next."""
    lines = [
        f"Run {record.run_id}: {record.source} -> {record.target}  state {record.state}{note}",
        f"  created {record.created}, updated {record.updated}, {record.api_calls} RDS API calls"
        + (
            f", {ridden} transient AWS errors ridden out"
            if (ridden := sum(s.transient_errors for s in record.steps))
            else ""
        ),
        "",
        _steps(record),
    ]
    created = [(s.name, key, value) for s in record.steps for key, value in s.resources.items()]
    if created:
        lines += ["", "Resources", format_table(["STEP", "WHAT", "AWS ID"], created)]
    if record.error:
        lines += ["", f"Error: {record.error}"]
    catch_up = catch_up_line(record)
    if catch_up:
        lines += ["", catch_up]
    c = CutoverState.of(record.cutover)
    if c.state:
        unavailable = (
            f", writes unavailable {c.unavailable_s:.1f} s" if c.unavailable_s is not None else ""
        )
        error = f" ({c.error})" if c.error else ""
        lines += ["", f"Cutover: {c.mode}, {c.state}{unavailable}{error}"]
        phases = [(p.name, p.state or "-", p.outcome or "") for p in c.phases or ()]
        if phases:
            lines.append(format_table(["PHASE", "STATE", "OUTCOME"], phases))
    nxt = _next(record)
    if nxt:
        lines += ["", *nxt]
    return "\n".join(lines)


def status_dict(record: RunRecord) -> dict[str, Any]:
    """``status RUN_ID`` as JSON: the journal, ``catch_up`` for a run with one, and
    ``outages`` for an in-place run (as ``migrate``'s JSON has them)."""
    data = record.to_dict()
    measured = outages_json(record)
    if measured is not None:
        data["outages"] = measured
    found = status_of(record)
    if found is not None:
        data["catch_up"] = found.to_dict()
    return data


def catch_up_line(record: RunRecord) -> str | None:
    """The catch-up in one line (None: the run has none)."""
    found = status_of(record)
    if found is None:
        return None
    parts = [f"Catch-up: {found.state}"]
    if found.lag_bytes is not None:
        lag_s = f" ({found.lag_s:.1f} s)" if found.lag_s is not None else ""
        parts.append(f"{found.lag_bytes:,} byte(s) behind{lag_s}")
    if found.retained_wal_bytes is not None:
        parts.append(f"its slots hold {found.retained_wal_bytes / 1024**2:,.1f} MiB of WAL")
    if found.reason:
        parts.append(found.reason)
    if found.measured_at:
        parts.append(f"at {found.measured_at}")
    return ", ".join(parts)


def table(result: RunResult) -> str:
    """The result of ``migrate``."""
    note = ""
    if result.adopted:
        note = "  (adopted: the target carried this run's tag)"
    elif result.resumed:
        note = "  (resumed)"
    return status_table(result.record, note=note)


def runs_dict(records: Sequence[RunRecord], where: str) -> dict[str, object]:
    """``status`` without a run id, as JSON."""
    return {
        "state_dir": where,
        "runs": [
            {
                "run_id": r.run_id,
                "state": r.state,
                "source": r.source,
                "target": r.target,
                "created": r.created,
                "updated": r.updated,
                "step": r.current.name if r.current and r.state != "done" else None,
            }
            for r in records
        ],
    }


def runs_table(records: Sequence[RunRecord], where: str) -> str:
    """Every run in a state directory."""
    if not records:
        return f"No runs in {where}."
    rows = [
        (
            r.run_id,
            r.state,
            r.source,
            r.target,
            (r.current.name if r.current and r.state != "done" else "-"),
            r.updated,
        )
        for r in records
    ]
    return f"Runs in {where}\n" + format_table(
        ["RUN", "STATE", "SOURCE", "TARGET", "AT STEP", "UPDATED"], rows
    )


def cleanup_table(result: CleanupResult) -> str:
    rows = [(r.step, r.message) for r in result.removals]
    kept = (
        f"\nKept: final snapshot {result.final_snapshot} (delete it when you no longer need it)"
        if result.final_snapshot
        else ""
    )
    return f"Run {result.record.run_id}: cleaned\n" + format_table(["STEP", "WHAT"], rows) + kept

"""Clones as human tables: the plan before a create or reset, the clone made (with
a ready ``psql`` line), the list, a lease change, what ``destroy``/``gc`` did."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from snapmigrate.clone.journal import is_clone_run
from snapmigrate.clone.runner import ClonePlan
from snapmigrate.clone.view import CloneAnswer, CloneInfo, CreateResult, DestroyResult, ListResult
from snapmigrate.progress import duration
from snapmigrate.report import MARKS, format_table, terminal_width
from snapmigrate.report.run import MARKS as STEPS
from snapmigrate.report.run import status_table
from snapmigrate.workflow.journal import RunRecord


def plan_table(shown: ClonePlan) -> str:
    spec = shown.spec
    verb = "Reset" if shown.replacing else "Create"
    lines = [f"{verb} clone {spec.name} of {spec.source} ({spec.method})", ""]
    rows = [(MARKS[f.level], f.code, f.message) for f in shown.findings]
    lines.append(format_table(["", "CHECK", "FINDING"], rows))
    steps = [(n, s.name, s.summary) for n, s in enumerate(shown.steps, 1)]
    if shown.replacing:
        steps.insert(0, (0, "destroy", f"delete {spec.name} and its instances (no final snapshot)"))
    lines += ["", format_table(["#", "STEP", "WHAT"], steps)]
    tags = ", ".join(f"{k}={v}" for k, v in spec.tags.items())
    lines += [
        "",
        *textwrap.wrap(
            f"Tags (the clone's truth): {tags}",
            terminal_width(),
            subsequent_indent="  ",
            break_on_hyphens=False,
        ),
        "Disposable by declaration (snapmigrate:final-snapshot=no): destroy, gc and reset "
        "delete it without a final snapshot.",
    ]
    return "\n".join(lines)


def _pairs(rows: Sequence[tuple[str, str]]) -> str:
    """Name and value, one per line (a table without its header)."""
    return format_table(["", ""], rows).split("\n", 1)[1]


def _clone_rows(clone: CloneInfo) -> list[tuple[str, str]]:
    return [
        ("name", clone.name),
        ("source", f"{clone.source} ({clone.method}, data as of {clone.restore_time or '-'})"),
        ("endpoint", f"{clone.endpoint}:{clone.port}"),
        ("databases", ", ".join(clone.database_names) or "-"),
        ("expires", clone.expires_at or "never"),
        ("protected until", clone.protected_until or "-"),
        ("owner", clone.owner or "-"),
        ("state", f"{clone.state or '-'} ({clone.status or '-'})"),
    ]


def _mask_lines(mask: Mapping[str, Any]) -> list[str]:
    proof = mask.get("proof") or {}
    rows = []
    for t in proof.get("tables") or []:
        name = f"{t['database']}.{t['schema']}.{t['table']}"
        if t.get("emptied"):
            rows.append((name, "emptied", f"{t['rows']} row(s) left", "ok" if t["clean"] else "NO"))
            continue
        for c in t.get("columns") or []:
            kept = c["kept_values"]
            column = f"{c['column']} ({c['strategy']})"
            found = f"{kept} of {c['checked_rows']} kept"
            rows.append((name, column, found, "ok" if kept == 0 else "LEAK"))
        rest = t.get("rest_changed")
        changed = f"{rest} row(s) changed" if rest is not None else "no other column"
        rows.append((name, "other columns", changed, "ok" if not rest else "NO"))
    verify = proof.get("verify") or {}
    lines = [
        "",
        f"Masking ({mask.get('summary')}): {'PROVEN' if proof.get('clean') else 'NOT PROVEN'}",
        format_table(["TABLE", "COLUMN", "SOURCE VALUES AT THEIR KEY", "OK"], rows),
    ]
    if verify:
        drift = (
            f", {len(verify.get('drift') or [])} changed on the source since"
            if verify.get("drift")
            else ""
        )
        state = (
            "equal"
            if verify.get("passed")
            else f"DIFFERENT: {', '.join(verify.get('differing') or [])}"
        )
        lines.append(
            f"  the rest vs the source: {verify.get('tables')} table(s) {state}{drift} "
            f"({verify.get('elapsed_s')} s)"
        )
    return lines


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 60 else duration(value)


def create_table(result: CreateResult) -> str:
    clone = result.clone
    t = result.timings
    rows = _clone_rows(clone)
    lines = [f"Clone {clone.name} ready", _pairs(rows)]
    marks = [
        ("accepted", t.accepted_s),
        ("cluster available", t.cluster_available_s),
        ("instances available", t.instances_available_s),
        ("first query", t.first_query_s),
        ("masked", t.masked_s),
        ("total", t.total_s),
    ]
    shown = ", ".join(f"{n} {_seconds(v)}" for n, v in marks if v is not None)
    lines += ["", f"Timings from the request: {shown}"]
    if result.mask is not None:
        lines += _mask_lines(result.mask)
    lines += ["", "Connect (password from ~/.pgpass or PGPASSWORD):", f"  {clone.psql()}"]
    return "\n".join(lines)


def answer_table(answer: CloneAnswer) -> str:
    return _pairs(_clone_rows(answer.clone))


def list_table(result: ListResult) -> str:
    if not result.clones:
        whose = "anyone's" if result.all_owners else "yours (--all-owners for everyone's)"
        return f"No clones ({whose})."
    rows = [
        (
            c.name,
            c.source or "-",
            c.method or "-",
            c.status + (" EXPIRED" if c.expired else ""),
            c.expires_at or "never",
            f"until {c.protected_until}" if c.protected else "-",
            duration(c.age_s) if c.age_s is not None else "-",
            c.owner or "-",
        )
        for c in result.clones
    ]
    headers = ["NAME", "SOURCE", "METHOD", "STATUS", "EXPIRES", "PROTECTED", "AGE", "OWNER"]
    return format_table(headers, rows)


def destroy_table(result: DestroyResult) -> str:
    verb = "Would destroy" if result.dry_run else "Destroyed"
    lines = [f"{verb}: {', '.join(result.destroyed) or 'nothing'}"]
    if result.kept:
        lines += ["Kept:", format_table(["NAME", "WHY"], [(k.name, k.why) for k in result.kept])]
    return "\n".join(lines)


def run_table(record: RunRecord) -> str:
    """A create or reset from the clones' journal (``snapmigrate status RUN_ID``)."""
    rows = [(s.name, STEPS.get(s.state, s.state), s.outcome or s.error or "") for s in record.steps]
    lines = [
        f"Clone run {record.run_id}: {record.source} -> {record.target}  state {record.state}",
        f"  created {record.created}, updated {record.updated}",
        "",
        format_table(["STEP", "STATE", "OUTCOME"], rows),
    ]
    if record.error:
        lines += ["", f"Error: {record.error}"]
    events = [e.get("message", "") for e in record.events][-3:]
    lines += ["", "Last events: " + " | ".join(events)] if events else []
    return "\n".join(lines)


def any_run_table(record: RunRecord) -> str:
    """``status RUN_ID``: a migration run, or a clone's create or reset."""
    return run_table(record) if is_clone_run(record) else status_table(record)


def runs_dict(records: Sequence[RunRecord]) -> dict[str, object]:
    """The clones' runs for ``status`` without a run id (the ``clones`` key)."""
    return {
        "clones": [
            {
                "run_id": r.run_id,
                "state": r.state,
                "source": r.source,
                "clone": r.target,
                "operation": (r.events[0].get("message") if r.events else None),
                "created": r.created,
                "updated": r.updated,
            }
            for r in records
        ]
    }


def runs_table(records: Sequence[RunRecord]) -> str:
    rows = [
        (
            r.run_id,
            r.state,
            r.source,
            r.target,
            r.events[0].get("message", "-") if r.events else "-",
            r.updated,
        )
        for r in records
    ]
    headers = ["RUN", "STATE", "SOURCE", "CLONE", "OPERATION", "UPDATED"]
    return "Clones made from here ('snapmigrate clone list' shows what exists)\n" + format_table(
        headers, rows
    )

"""The cutover (and rollback) as a table, Markdown for a change ticket, or JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from snapmigrate.cutover.swap import describe
from snapmigrate.errors import BadInput
from snapmigrate.files import atomic_write_text
from snapmigrate.report import format_table

REPORT_SUFFIXES = (".md", ".json")


def _headline(data: dict[str, Any]) -> str:
    how = describe(data.get("mode"), data.get("swap") or {})
    return (
        f"Cutover of run {data['run_id']}: {data['source']} -> {data['target']} by {how}  "
        f"state {data.get('state')}"
    )


def _unavailability(data: dict[str, Any]) -> str:
    if data.get("unavailable_s") is None:
        return "writes unavailable: -"
    return (
        f"writes unavailable: {data['unavailable_s']:.3f} s "
        f"(frozen {data.get('frozen_at')} -> writable on the target {data.get('writable_at')})"
    )


def _rows(data: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [
        (
            p["name"],
            p.get("state", "-"),
            f"{p['took_s']:.2f}s" if p.get("took_s") is not None else "-",
            p.get("outcome") or "",
        )
        for p in data.get("phases", [])
    ]


def _mark(guardrail: dict[str, Any]) -> str:
    """``ok``, ``WARN`` (passed, read it) or ``FAIL``."""
    if not guardrail["passed"]:
        return "FAIL"
    return "WARN" if guardrail.get("warn") else "ok"


def table(data: dict[str, Any]) -> str:
    lines = [_headline(data), f"  {_unavailability(data)}", ""]
    if data.get("guardrails"):
        lines += [
            "Guardrails",
            format_table(
                ["", "CHECK", "RESULT"],
                [
                    (_mark(g), g["name"], g["message"])
                    for g in data["guardrails"]
                ],
            ),
            "",
        ]
    if data.get("phases"):
        lines += ["Phases", format_table(["PHASE", "STATE", "TOOK", "OUTCOME"], _rows(data)), ""]
    if data.get("writes_since_cutover"):
        lines += [
            "Writes on the new cluster since the cutover (NOT copied back)",
            format_table(
                ["TABLE", "INSERTED", "UPDATED", "DELETED"],
                [
                    (w["table"], w["inserted"], w["updated"], w["deleted"])
                    for w in data["writes_since_cutover"]
                ],
            ),
            "",
        ]
    if data.get("rollback"):
        lines += ["Rollback", *(f"  {line}" for line in data["rollback"]), ""]
    if data.get("error"):
        lines.append(f"error: {data['error']}")
    if data.get("note"):
        lines.append(data["note"])
    if data.get("state") == "done":
        lines.append(f"Way back: snapmigrate rollback {data['run_id']}")
    return "\n".join(lines).rstrip()


def markdown(data: dict[str, Any]) -> str:
    """For a change ticket."""
    out = [
        f"# {_headline(data)}",
        "",
        f"- {_unavailability(data)}",
        f"- started {data.get('started')}, finished {data.get('finished')}",
    ]
    verification = data.get("verification") or {}
    if verification:
        out.append(
            f"- final verification: {'equal' if verification.get('equal') else 'DIFFERENT'} "
            f"({verification.get('line')})"
        )
    drift = data.get("drift") or {}
    if drift.get("checked"):
        out.append(
            "- written on the source since the "
            f"snapshot: {', '.join(drift.get('tables') or []) or 'nothing'}"
            + (
                f"; stale: {', '.join(drift['stale'])}"
                + (" (accepted)" if drift.get("accepted") else "")
                if drift.get("stale")
                else ""
            )
        )
    out += ["", "## Guardrails", "", "| | check | result |", "| --- | --- | --- |"]
    out += [
        f"| {_mark(g)} | {g['name']} | {g['message']} |"
        for g in data.get("guardrails", [])
    ]
    out += ["", "## Phases", "", "| phase | state | took | outcome |", "| --- | --- | --- | --- |"]
    out += [f"| {n} | {s} | {t} | {o.replace('|', '/')} |" for n, s, t, o in _rows(data)]
    if data.get("rollback"):
        out += ["", "## Rollback", "", *(f"- {line}" for line in data["rollback"])]
    if data.get("writes_since_cutover"):
        out += [
            "",
            "## Writes on the new cluster since the cutover (not copied back)",
            "",
            "| table | inserted | updated | deleted |",
            "| --- | --- | --- | --- |",
        ]
        out += [
            f"| {w['table']} | {w['inserted']} | {w['updated']} | {w['deleted']} |"
            for w in data["writes_since_cutover"]
        ]
    if data.get("error"):
        out += ["", f"**Error:** {data['error']}"]
    return "\n".join(out) + "\n"


def check_report_path(path: str) -> None:
    if not path.endswith(REPORT_SUFFIXES):
        raise BadInput(f"--report {path}: use a .md or .json file name")
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise BadInput(f"--report {path}: directory {parent} does not exist")


def write(data: dict[str, Any], path: str) -> None:
    text = (
        json.dumps(data, indent=2, default=str) + "\n" if path.endswith(".json") else markdown(data)
    )
    atomic_write_text(path, text)

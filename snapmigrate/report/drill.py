"""Drills rendered: the terminal table, the evidence report for an auditor
(Markdown, HTML or JSON: what was restored, every phase with its timestamps,
RTO and RPO against the targets, each check, who ran it and the tool version),
and ``drill history`` (a table, or HTML with a small inline SVG trend)."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from snapmigrate.drill.audit import AuditResult
from snapmigrate.drill.result import DrillResult
from snapmigrate.files import atomic_write_text
from snapmigrate.report import MARKS, format_table


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _facts(d: Mapping[str, Any]) -> list[tuple[str, str]]:
    drill, rpo, targets = d["drill"], d["rpo_s"], d["targets"]
    return [
        ("drill", str(drill["id"])),
        ("source", str(drill["source"])),
        ("restored in", str(drill["region"])),
        ("from", f"{drill['from']}: {drill['recovery_point']}"),
        ("copy", str(drill["cluster"])),
        ("t0", str(d["t0"])),
        ("RTO", f"{_s(d['rto_s'])} (target {_s(targets['rto_s'])})"),
        ("RPO (metadata)", f"{_s(rpo['metadata'])} (target {_s(targets['rpo_s'])})"),
        ("RPO (data)", _s(rpo["data"]) if rpo["data"] is not None else "- (no heartbeat)"),
        ("targets", "met" if targets["met"] else "MISSED"),
        ("injected", str(drill.get("injected") or "-")),
        ("run by", str(drill.get("caller") or "unknown")),
        ("tool", f"snapmigrate {drill.get('tool_version', '?')}"),
        ("verdict", "PASSED" if d["passed"] else "FAILED"),
    ]


def table(result: DrillResult) -> str:
    d = result.to_dict()
    lines = [format_table(["", ""], _facts(d)).split("\n", 1)[1], ""]
    phases = [(p["name"], p["started"], f"{p['took_s']:.1f} s") for p in d["phases"]]
    lines += [format_table(["PHASE", "STARTED", "TOOK"], phases), ""]
    checks = [("ok" if c["passed"] else "FAIL", c["name"], c["detail"]) for c in d["checks"]]
    lines += [format_table(["", "CHECK", "DETAIL"], checks or [("-", "-", "no check")]), ""]
    torn = [(r["kind"], r["id"], r["action"]) for r in d["teardown"]["resources"]]
    lines.append(format_table(["KIND", "ID", "TEARDOWN"], torn or [("-", "-", "nothing")]))
    if "error" in d:
        lines += ["", f"error: {d['error']}"]
    return "\n".join(lines)


def markdown(result: DrillResult) -> str:
    d = result.to_dict()
    out = [f"# DR drill {d['drill']['id']}: {d['drill']['source']}", ""]
    out += ["| | |", "| --- | --- |", *(f"| {k} | {v} |" for k, v in _facts(d)), ""]
    out += ["## Phases", "", "| phase | started | finished | took |", "| --- | --- | --- | --- |"]
    out += [f"| {p['name']} | {p['started']} | {p['finished']} | {p['took_s']:.3f} s |"
            for p in d["phases"]]  # fmt: skip
    out += ["", "## Checks", "", "| check | result | detail |", "| --- | --- | --- |"]
    out += [f"| {c['name']} | {'passed' if c['passed'] else '**FAILED**'} | "
            f"{c['detail'].replace('|', '/')} |" for c in d["checks"]]  # fmt: skip
    out += ["", "## Teardown", ""]
    out += [f"- {r['kind']} `{r['id']}`: {r['action']}" for r in d["teardown"]["resources"]]
    if "error" in d:
        out += ["", f"**Error:** {d['error']}"]
    return "\n".join(out) + "\n"


def _html_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


STYLE = (
    "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;"
    "margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style>"
)


def html_report(result: DrillResult) -> str:
    d = result.to_dict()
    title = html.escape(f"DR drill {d['drill']['id']}: {d['drill']['source']}")
    phases = [(p["name"], p["started"], p["finished"], f"{p['took_s']:.3f} s") for p in d["phases"]]
    checks = [(c["name"], "passed" if c["passed"] else "FAILED", c["detail"]) for c in d["checks"]]
    torn = [(r["kind"], r["id"], r["action"]) for r in d["teardown"]["resources"]]
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>{STYLE}"
        f"</head><body><h1>{title}</h1>{_html_table(['', ''], _facts(d))}"
        f"<h2>Phases</h2>{_html_table(['phase', 'started', 'finished', 'took'], phases)}"
        f"<h2>Checks</h2>{_html_table(['check', 'result', 'detail'], checks)}"
        f"<h2>Teardown</h2>{_html_table(['kind', 'id', 'action'], torn)}</body></html>\n"
    )


def write_report(path: str, result: DrillResult) -> None:
    """``--report FILE``: Markdown, HTML or JSON by the file's suffix."""
    suffix = Path(path).suffix.lower()
    if suffix == ".json":
        text = json.dumps(result.to_dict(), indent=2) + "\n"
    elif suffix == ".html":
        text = html_report(result)
    else:
        text = markdown(result)
    atomic_write_text(path, text, mode=0o644)


# -- history ----------------------------------------------------------------------------


def _verdict(d: Mapping[str, Any]) -> str:
    verdict = "passed" if d.get("passed") else "FAILED"
    injected = d["drill"].get("injected")
    return f"{verdict} (inject {injected.split(':')[0]})" if injected else verdict


def history_table(drills: Sequence[Mapping[str, Any]]) -> str:
    rows = [
        (
            d.get("t0", "-"),
            d["drill"].get("id", "-"),
            d["drill"].get("source", "-"),
            d["drill"].get("from", "-"),
            d["drill"].get("region", "-"),
            _s(d.get("rto_s")),
            _s((d.get("rpo_s") or {}).get("metadata")),
            _s((d.get("rpo_s") or {}).get("data")),
            _verdict(d),
        )
        for d in drills
    ]
    headers = ["T0", "ID", "SOURCE", "FROM", "REGION", "RTO", "RPO", "RPO DATA", "RESULT"]
    return format_table(headers, rows or [("-",) * 8 + ("no drill yet",)])


def trend_svg(drills: Sequence[Mapping[str, Any]], width: int = 480, height: int = 160) -> str:
    """RTO (blue) and metadata RPO (orange) per drill, oldest left: two polylines."""
    series = {
        "#1f77b4": [float(d.get("rto_s") or 0) for d in drills],
        "#ff7f0e": [float((d.get("rpo_s") or {}).get("metadata") or 0) for d in drills],
    }
    top = max([1.0, *(v for values in series.values() for v in values)])
    step = (width - 20) / max(1, len(drills) - 1)
    lines = []
    for color, values in series.items():
        points = " ".join(
            f"{10 + n * step:.1f},{height - 10 - v / top * (height - 20):.1f}"
            for n, v in enumerate(values)
        )
        lines.append(f"<polyline fill='none' stroke='{color}' stroke-width='2' points='{points}'/>")
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"role='img' aria-label='RTO and RPO per drill'>{''.join(lines)}"
        f"<text x='10' y='14' font-size='11'>max {top:.0f} s; RTO blue, RPO orange</text></svg>"
    )


def history_html(drills: Sequence[Mapping[str, Any]]) -> str:
    rows = [
        (d.get("t0", "-"), d["drill"].get("source"), d["drill"].get("from"),
         _s(d.get("rto_s")), _s((d.get("rpo_s") or {}).get("metadata")),
         _s((d.get("rpo_s") or {}).get("data")), _verdict(d))
        for d in drills
    ]  # fmt: skip
    headers = ["t0", "source", "from", "RTO", "RPO", "RPO data", "result"]
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>DR drills</title>{STYLE}"
        f"</head><body><h1>DR drills</h1>{trend_svg(drills)}{_html_table(headers, rows)}"
        "</body></html>\n"
    )


def write_history(path: str, drills: Sequence[Mapping[str, Any]]) -> None:
    atomic_write_text(path, history_html(drills), mode=0o644)


def audit_table(result: AuditResult) -> str:
    rows = [(MARKS[f.level], f.code, f.message) for f in result.findings]
    verdict = "BLOCKED" if result.blocked else "ready"
    return f"Drill audit of {result.source}: {verdict}\n\n" + format_table(
        ["", "CHECK", "FINDING"], rows
    )

"""A verification as a human table, Markdown, HTML or JSON -- all from one :class:`VerifyResult`."""

from __future__ import annotations

import html
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from snapmigrate.db.catalog import qualname
from snapmigrate.errors import BadInput
from snapmigrate.files import atomic_write_text
from snapmigrate.report import format_table

if TYPE_CHECKING:
    from snapmigrate.db.results import RowDifference, TableResult, VerifyResult

REPORT_SUFFIXES = (".md", ".markdown", ".html", ".htm", ".json")


def _yes_no(value: bool | None) -> str:
    return "-" if value is None else "yes" if value else "NO"


def _rows(value: int | None) -> str:
    return "missing" if value is None else f"{value:,}"


def _state(t: TableResult) -> str:
    if t.error:
        return "ERROR"
    if t.equal:
        return "equal"
    return "DRIFT" if t.drift else "DIFFERENT"


def _note(t: TableResult) -> str:
    parts = []
    if t.error:
        parts.append(t.error)
    if not t.equal and not t.error and t.differing_rows:
        parts.append(
            f"{'' if t.differing_rows_exact else '>= '}{t.differing_rows:,} differing row(s)"
        )
    if t.note:
        parts.append(t.note)
    if t.drift:
        parts.append("written after the snapshot")
    return "; ".join(parts) or t.method


def table_rows(result: VerifyResult) -> list[tuple[str, ...]]:
    multi_db = len({t.database for t in result.tables}) > 1
    rows: list[tuple[str, ...]] = []
    for t in result.tables:
        name = qualname(t.schema, t.name)
        rows.append(
            (
                f"{t.database}:{name}" if multi_db else name,
                _rows(t.source_rows),
                _rows(t.target_rows),
                _yes_no(
                    t.rows_equal
                    if t.source_rows is not None and t.target_rows is not None
                    else None
                ),
                _yes_no(t.checksum_equal),
                f"{t.elapsed_s:.2f}",
                _state(t),
                _note(t),
            )
        )
    return rows


HEADERS = ("TABLE", "SOURCE ROWS", "TARGET ROWS", "ROWS =", "CHECKSUM =", "TIME S", "STATE", "NOTE")


def summary(result: VerifyResult) -> str:
    data = result.to_dict()["summary"]
    head = "EQUAL" if result.equal else "DIFFERENT"
    text = (
        f"{head}: {data['tables']} table(s), {data['rows_compared']:,} source row(s) compared "
        f"({result.mode}) in "
        f"{result.elapsed_s:.2f} s; {data['tables_differing']} table(s) differ, "
        f"{data['schema_differences']} schema difference(s), {data['differing_rows']:,} differing "
        "row(s)"
    )
    if result.drift is not None:
        text += (
            f"; {data['drift_differences']} difference(s) explained by writes after the snapshot"
        )
    if result.errors:
        text += f"; {len(result.errors)} table(s) could not be compared"
    return text + "."


def _values(vals: tuple[tuple[str, str | None], ...] | None) -> str:
    if not vals:
        return "-"
    return ", ".join(f"{k}={'NULL' if v is None else repr(v)}" for k, v in vals)


def _row_text(r: RowDifference) -> tuple[str, str, str, str, str]:
    key = ", ".join(f"{k}={v}" for k, v in r.key)
    return (
        qualname(r.schema, r.table),
        key,
        r.kind,
        ", ".join(r.columns) or "-",
        f"source: {_values(r.source)} | target: {_values(r.target)}",
    )


def table(result: VerifyResult) -> str:
    """The human table: per table, then schema differences, differing rows, drift, summary."""
    lines = [f"Verify {result.source} -> {result.target}", ""]
    if result.tables:
        lines.append(format_table(HEADERS, table_rows(result)))
    if result.schema_differences:
        lines += ["", "Schema differences"]
        lines.append(
            format_table(
                ("DATABASE", "KIND", "OBJECT", "DIFFERENCE"),
                [
                    (d.database, d.kind, d.object, d.message + (" (drift)" if d.drift else ""))
                    for d in result.schema_differences
                ],
            )
        )
    if result.differing_rows:
        lines += ["", "Differing rows (samples)"]
        lines.append(
            format_table(
                ("TABLE", "KEY", "KIND", "COLUMNS", "VALUES"),
                [_row_text(r) for r in result.differing_rows],
            )
        )
    if result.drift is not None:
        lines += [
            "",
            f"Drift: baseline captured {result.drift.baseline_captured_at}, source "
            f"re-read {result.drift.captured_at}: "
            f"{len(result.drift.tables)} table(s) written since the snapshot"
            + (
                f", {len(result.drift.counters_reset)} with reset counters (not judged)"
                if result.drift.counters_reset
                else ""
            ),
        ]
    lines += ["", summary(result)]
    return "\n".join(lines)


# -- Markdown and HTML ------------------------------------------------------------------


def _md_cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def markdown(result: VerifyResult) -> str:
    """A report to paste into a change ticket."""
    parts = [
        f"# Verification: {'equal' if result.equal else 'DIFFERENT'}",
        "",
        f"- source: `{result.source}`",
        f"- target: `{result.target}`",
        f"- mode: {result.mode}, {result.jobs} job(s) per side, {result.elapsed_s:.2f} s",
        "",
        f"**{summary(result)}**",
        "",
        "## Tables",
        "",
        _md_table(HEADERS, table_rows(result)),
    ]
    if result.schema_differences:
        parts += [
            "",
            "## Schema differences",
            "",
            _md_table(
                ("database", "kind", "object", "difference"),
                [
                    (d.database, d.kind, d.object, d.message + (" (drift)" if d.drift else ""))
                    for d in result.schema_differences
                ],
            ),
        ]
    if result.differing_rows:
        parts += [
            "",
            "## Differing rows (samples)",
            "",
            _md_table(
                ("table", "key", "kind", "columns", "values"),
                [_row_text(r) for r in result.differing_rows],
            ),
        ]
    return "\n".join(parts) + "\n"


def _html_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_report(result: VerifyResult) -> str:
    """A standalone HTML page (no scripts, every value escaped)."""
    title = f"Verification: {'equal' if result.equal else 'DIFFERENT'}"
    sections = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>source: <code>{html.escape(result.source)}</code><br>target: "
        f"<code>{html.escape(result.target)}</code><br>"
        f"mode: {html.escape(result.mode)}, {result.jobs} job(s) per side, {result.elapsed_s:.2f} "
        "s</p>",
        f"<p><strong>{html.escape(summary(result))}</strong></p>",
        "<h2>Tables</h2>",
        _html_table(HEADERS, table_rows(result)),
    ]
    if result.schema_differences:
        sections += [
            "<h2>Schema differences</h2>",
            _html_table(
                ("database", "kind", "object", "difference"),
                [
                    (d.database, d.kind, d.object, d.message + (" (drift)" if d.drift else ""))
                    for d in result.schema_differences
                ],
            ),
        ]
    if result.differing_rows:
        sections += [
            "<h2>Differing rows (samples)</h2>",
            _html_table(
                ("table", "key", "kind", "columns", "values"),
                [_row_text(r) for r in result.differing_rows],
            ),
        ]
    style = (
        "body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:2px 6px;text-align:left}"
    )
    head = f'<meta charset="utf-8"><title>{html.escape(title)}</title><style>{style}</style>'
    return f"<!doctype html>\n<html><head>{head}</head><body>{''.join(sections)}</body></html>\n"


def _json(result: VerifyResult) -> str:
    return json.dumps(result.to_dict(), indent=2, default=str) + "\n"


RENDERERS: dict[str, Callable[[VerifyResult], str]] = {
    ".md": markdown,
    ".markdown": markdown,
    ".html": html_report,
    ".htm": html_report,
    ".json": _json,
}


def check_report_path(path: str | os.PathLike[str]) -> Path:
    """The report path, or BadInput before anything runs when its format is unknown."""
    p = Path(path)
    if p.suffix.lower() not in RENDERERS:
        raise BadInput(
            f"--report {p}: unknown format {p.suffix or '(none)'}; use .md, .html or .json"
        )
    if p.parent and not p.parent.exists():
        raise BadInput(f"--report {p}: directory {p.parent} does not exist")
    return p


def write(result: VerifyResult, path: str | os.PathLike[str]) -> Path:
    """Write the report in the format its suffix names (atomically)."""
    p = check_report_path(path)
    atomic_write_text(p, RENDERERS[p.suffix.lower()](result))
    return p

"""Renderings of results: human tables here, per-result renderers in submodules.

JSON comes from each record's ``to_dict()``; tables are built from the same
records, so the two never disagree.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Sequence

MARKS = {"ok": "ok", "warn": "WARN", "block": "BLOCK"}


def terminal_width(default: int = 110) -> int:
    return max(80, min(shutil.get_terminal_size((default, 24)).columns, 140))


def format_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    indent: int = 2,
    width: int | None = None,
) -> str:
    """Left-aligned columns; the last column wraps to fit the width."""
    width = width or terminal_width()
    cells = [[str(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, c in enumerate(row[:-1]):
            widths[i] = max(widths[i], len(c))
    lead = " " * indent
    fixed = sum(w + 2 for w in widths[:-1])
    last_width = max(30, width - indent - fixed)
    lines = [
        lead
        + "  ".join(h.ljust(w) for h, w in zip(headers[:-1], widths, strict=False))
        + ("  " if len(headers) > 1 else "")
        + headers[-1]
    ]
    for row in cells:
        wrapped = textwrap.wrap(row[-1], last_width, break_on_hyphens=False) or [""]
        prefix = "  ".join(c.ljust(w) for c, w in zip(row[:-1], widths, strict=False))
        if len(row) > 1:
            prefix += "  "
        lines.append((lead + prefix + wrapped[0]).rstrip())
        lines += [(lead + " " * len(prefix) + more).rstrip() for more in wrapped[1:]]
    return "\n".join(lines)


def heading(text: str) -> str:
    return f"\n{text}"

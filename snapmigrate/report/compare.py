"""``plan SOURCE --compare`` as a human table: one row per question, one column per path."""

from __future__ import annotations

from typing import TYPE_CHECKING

from snapmigrate.report import format_table

if TYPE_CHECKING:
    from snapmigrate.plan.compare import Comparison

ROWS = (
    ("steps", "steps"),
    ("write outage", "write_outage"),
    ("undo", "reversible"),
    ("endpoint", "endpoint"),
    ("data proof", "data_proof"),
    ("cost during the move", "cost"),
)


def table(found: Comparison) -> str:
    paths = (found.snapshot, found.in_place)
    rows = []
    for label, field in ROWS:
        for n, path in enumerate(paths):
            value = getattr(path, field)
            text = ", ".join(value) if isinstance(value, tuple) else value
            rows.append((label if n == 0 else "", path.path, text))
    blocked = [(p.path, p.blocked) for p in paths if p.blocked]
    lines = [
        f"Two ways for {found.source}",
        "",
        format_table(["", "PATH", ""], rows),
    ]
    lines += ["", *(f"{path}: BLOCKED {why}" for path, why in blocked)] if blocked else []
    lines += [
        "",
        f"Plan one with: snapmigrate plan {found.source} --target NAME, or "
        f"snapmigrate plan {found.source} --path in-place",
    ]
    return "\n".join(lines)

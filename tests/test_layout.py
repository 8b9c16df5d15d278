"""The layout keeps its promises: the product never imports the lab."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_product_never_imports_the_lab():
    """The lab (snapmigrate_lab) depends on the product, never the other way: a
    user without the lab extra runs every command but `lab`."""
    offenders = {
        str(path.relative_to(ROOT)): sorted(m for m in imported_modules(path) if m.split(".")[0] == "snapmigrate_lab")
        for path in sorted((ROOT / "snapmigrate").rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}

"""The layout keeps its promises: the product never imports the lab, only the
AWS layer calls boto3, the CLI only parses and renders, modules and classes
stay small, and the cutover mode is looked at in one place."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _type_checking_only(tree: ast.AST) -> set[int]:
    """ids of the nodes under ``if TYPE_CHECKING:`` (annotations only, never run)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.If)
            and isinstance(node.test, ast.Name)
            and node.test.id == "TYPE_CHECKING"
        ):
            skipped |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return skipped


def imported_modules(path: Path) -> set[str]:
    """The modules ``path`` imports when it runs."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_only(tree)
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_product_never_imports_the_lab():
    """The lab (snapmigrate_lab) depends on the product, never the other way: a
    user without the lab extra runs every command but `lab`."""
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            m for m in imported_modules(path) if m.split(".")[0] == "snapmigrate_lab"
        )
        for path in sorted((ROOT / "snapmigrate").rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def product_modules() -> list[Path]:
    return sorted((ROOT / "snapmigrate").rglob("*.py"))


def test_only_the_aws_layer_imports_boto3():
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            m for m in imported_modules(path) if m.split(".")[0] in ("boto3", "botocore")
        )
        for path in product_modules()
        if path.parent.name != "aws"
    }
    assert {k: v for k, v in offenders.items() if v} == {}


#: What a CLI module may import from the product: the commands, the renderers,
#: the errors and the records it builds from options.
CLI_MAY_IMPORT = (
    "snapmigrate",
    "snapmigrate.cli",
    "snapmigrate.commands",
    "snapmigrate.report",
    "snapmigrate.errors",
    "snapmigrate.progress",
    "snapmigrate.model",
    "snapmigrate.permissions",
    "snapmigrate.plan.options",
    "snapmigrate.migrate.context",
    "snapmigrate.migrate.runner",
    "snapmigrate.cutover",
    "snapmigrate.cutover.swap",
    "snapmigrate.db.stats",
    "snapmigrate.db.verify",
)


def test_the_cli_only_parses_calls_a_command_and_renders():
    """No runner, no AWS, no journal, no SQL in cli/: those are the commands' business."""
    offenders = {}
    for path in sorted((ROOT / "snapmigrate" / "cli").glob("*.py")):
        product = [m for m in imported_modules(path) if m.split(".")[0] == "snapmigrate"]
        allowed = [m for m in product if m in CLI_MAY_IMPORT or m.startswith("snapmigrate.cli.")]
        if set(product) - set(allowed):
            offenders[path.name] = sorted(set(product) - set(allowed))
    assert offenders == {}


def test_modules_and_classes_stay_small():
    """~450 lines a module, ~250 a class (docs/architecture.md), product and lab alike."""
    big = []
    for path in [*product_modules(), *sorted((ROOT / "snapmigrate_lab").rglob("*.py"))]:
        name = str(path.relative_to(ROOT))
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > 450:
            big.append(f"{name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
                size = node.end_lineno - node.lineno + 1
                if size > 250:
                    big.append(f"{name}:{node.name}: {size} lines")
    assert big == []


def test_the_cutover_mode_is_named_in_one_place():
    """Every decision by mode goes through the swap strategies (cutover/swap/)."""
    modes = {"dns", "rename"}
    offenders = []
    for path in product_modules():
        if path.relative_to(ROOT).as_posix().startswith("snapmigrate/cutover/swap/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in modes:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}")
    assert offenders == []


#: The layers of docs/architecture.md, lowest first, by their top-level modules.
LAYERS = (
    ("errors", "records", "model", "files", "connectmap", "progress", "lazy"),
    ("aws",),
    ("db", "loadgen"),
    ("waiting",),
    ("workflow",),
    ("migrate", "inplace"),
    ("cutover",),
    ("plan",),
    ("clone",),
    ("drill",),
    ("commands", "permissions", "iam"),
    ("report", "cli", "__main__"),
)


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "snapmigrate" or len(parts) < 2:
        return None
    return next((n for n, names in enumerate(LAYERS) if parts[1] in names), None)


def test_layers_import_only_the_layers_below():
    upward = []
    for path in product_modules():
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        own = _layer(module)
        if own is None:
            continue
        for imported in imported_modules(path):
            other = _layer(imported)
            if other is not None and other > own:
                upward.append(f"{module} imports {imported}")
    assert upward == []

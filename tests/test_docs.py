"""The docs list every command and every finding code the code can emit."""

from __future__ import annotations

import re
from pathlib import Path

from snapmigrate.cli import COMMANDS

ROOT = Path(__file__).resolve().parent.parent


def emitted_codes() -> set[str]:
    """Every code a preflight rule adds: ``f.add(LEVEL, "code", ...)`` anywhere in the product."""
    found: set[str] = set()
    for path in (ROOT / "snapmigrate").rglob("*.py"):
        found |= set(re.findall(r'f\.add\(\s*[a-z"]+,\s*"([a-z0-9-]+)"', path.read_text()))
    return found


def test_every_finding_code_is_documented():
    documented = set(
        re.findall(r"^\| `([a-z0-9-]+)` \|", (ROOT / "docs" / "preflight.md").read_text(), re.M)
    )
    codes = emitted_codes()
    assert len(codes) > 15
    assert codes <= documented, f"undocumented: {sorted(codes - documented)}"
    assert documented <= codes, f"documented but never emitted: {sorted(documented - codes)}"


def test_every_command_is_in_the_usage_doc():
    usage = (ROOT / "docs" / "usage.md").read_text()
    missing = [name for name in COMMANDS if f"snapmigrate {name}" not in usage]
    assert not missing, f"docs/usage.md lacks: {missing}"


def test_readme_quick_start_has_exactly_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.+?)\n```", quick)
    assert len(commands) == 2
    assert commands[0].endswith("snapmigrate lab demo")
    assert "pip install '.[test]'" in commands[1] and "pytest" in commands[1]


def cli_names() -> tuple[set[str], set[str]]:
    """Every command path (``clone create``) and every ``--option`` the CLI has."""
    import click

    from snapmigrate.cli import cli

    commands: set[str] = set()
    options: set[str] = set()

    def walk(command: click.Command, path: str, ctx: click.Context) -> None:
        for param in command.params:
            options.update(o for o in (*param.opts, *param.secondary_opts) if o.startswith("--"))
        if path:
            commands.add(path)
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):  # the lazy commands are loaded here
                sub = command.get_command(ctx, name)
                assert sub is not None
                walk(sub, f"{path} {name}".strip(), click.Context(sub, parent=ctx, info_name=name))

    walk(cli, "", click.Context(cli, info_name="snapmigrate"))
    return commands, options


def test_no_doc_calls_what_exists_not_yet_there():
    """A paragraph that says "not yet" (or sits under a "Not yet" heading) must not
    name an option or a command the CLI has: the docs describe the present."""
    commands, options = cli_names()
    assert "--freeze-before-snapshot" in options and "cutover" in commands
    stale = []
    for doc in [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]:
        heading = ""
        for block in re.split(r"\n\s*\n|\n(?=\s*[*-] )", doc.read_text()):
            if block.lstrip().startswith("#"):
                heading = block.lower()
            if "not yet" not in block.lower() and "not yet" not in heading:
                continue
            named = set(re.findall(r"--[a-z][a-z0-9-]+", block)) & options
            named |= {c for c in commands if f"snapmigrate {c}" in block}
            if named:
                stale.append(f"{doc.name}: {sorted(named)} in: {block.strip()[:80]!r}")
    assert not stale, "docs call existing options or commands 'not yet':\n" + "\n".join(stale)

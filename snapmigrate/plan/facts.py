"""What AWS documents about Aurora engine versions, as data.

Used as the fallback when ``DescribeDBEngineVersions`` /
``DescribeDBMajorEngineVersions`` do not answer (moto does not implement
them; a tight IAM policy may deny them). Sources: the Aurora User Guide
("Supported Regions and Aurora DB engines for Aurora Serverless v2",
"Scaling to Zero ACUs", "Data API") and the Aurora PostgreSQL release
calendar. Check them when AWS adds versions.
"""

from __future__ import annotations

from snapmigrate.model import EngineFacts

Version = tuple[int, ...]

POSTGRES = "aurora-postgresql"
MYSQL = "aurora-mysql"

#: Lowest minor per major that supports Serverless v2.
V2_MIN_VERSION: dict[str, dict[int, Version]] = {
    POSTGRES: {13: (13, 6), 14: (14, 3), 15: (15, 2), 16: (16, 1), 17: (17, 4)},
    MYSQL: {3: (3, 2, 0)},
}
#: Lowest minor per major whose v2 instances scale to 256 ACU (else 128).
V2_256_ACU: dict[str, dict[int, Version]] = {
    POSTGRES: {13: (13, 13), 14: (14, 10), 15: (15, 5), 16: (16, 1), 17: (17, 4)},
    MYSQL: {3: (3, 6, 0)},
}
#: Lowest minor per major that supports a 0 ACU minimum (automatic pause).
V2_AUTO_PAUSE: dict[str, dict[int, Version]] = {
    POSTGRES: {13: (13, 15), 14: (14, 12), 15: (15, 7), 16: (16, 3), 17: (17, 4)},
    MYSQL: {3: (3, 8, 0)},
}
#: Lowest minor per major where a provisioned/v2 cluster has the Data API.
DATA_API: dict[str, dict[int, Version]] = {
    POSTGRES: {13: (13, 11), 14: (14, 8), 15: (15, 3), 16: (16, 1), 17: (17, 4)},
    MYSQL: {3: (3, 7, 0)},
}
#: (end of standard support, end of RDS Extended Support) per major version.
SUPPORT_DATES: dict[str, dict[int, tuple[str, str]]] = {
    POSTGRES: {
        11: ("2024-02-29", "2027-03-31"),
        12: ("2025-02-28", "2028-02-29"),
        13: ("2026-02-28", "2029-02-28"),
        14: ("2027-02-28", "2030-02-28"),
        15: ("2028-02-29", "2031-02-28"),
        16: ("2029-02-28", "2032-02-29"),
        17: ("2030-02-28", "2033-02-28"),
    },
    MYSQL: {2: ("2024-10-31", "2027-02-28"), 3: ("2028-04-30", "2031-04-30")},
}
#: The newest minor of each major we know of: the default when a major upgrade is needed.
LATEST_MINOR: dict[str, dict[int, str]] = {
    POSTGRES: {13: "13.20", 14: "14.17", 15: "15.12", 16: "16.8", 17: "17.4"},
}

EXTENDED_SUPPORT = "open-source-rds-extended-support"
EXTENDED_SUPPORT_DISABLED = "open-source-rds-extended-support-disabled"


def parse_version(version: str) -> Version:
    """``"13.12"`` -> ``(13, 12)``; ``"8.0.mysql_aurora.3.05.2"`` -> ``(3, 5, 2)``."""
    text = version.split("mysql_aurora.")[-1]
    parts: list[int] = []
    for piece in text.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    if not parts:
        raise ValueError(f"not an engine version: {version!r}")
    return tuple(parts)


def major(version: str) -> int:
    return parse_version(version)[0]


def _at_least(table: dict[str, dict[int, Version]], engine: str, version: str) -> bool:
    v = parse_version(version)
    floor = table.get(engine, {}).get(v[0])
    if floor is None:
        # Majors newer than the table are assumed to have every feature.
        known = table.get(engine, {})
        return bool(known) and v[0] > max(known)
    return v >= floor


def supports_v2(engine: str, version: str) -> bool:
    return _at_least(V2_MIN_VERSION, engine, version)


def facts_from_table(engine: str, version: str) -> EngineFacts:
    """What the documentation tables say about ``engine`` at ``version``."""
    v2 = supports_v2(engine, version)
    auto_pause = v2 and _at_least(V2_AUTO_PAUSE, engine, version)
    dates = SUPPORT_DATES.get(engine, {}).get(parse_version(version)[0])
    family = f"{engine}{major(version)}" if engine == POSTGRES else f"{engine}8.0"
    return EngineFacts(
        engine=engine,
        version=version,
        serverless_v2=v2,
        min_capacity_floor=0.0 if auto_pause else 0.5,
        max_capacity_ceiling=256.0 if _at_least(V2_256_ACU, engine, version) else 128.0,
        auto_pause=auto_pause,
        data_api=_at_least(DATA_API, engine, version),
        parameter_group_family=family,
        standard_support_ends=dates[0] if dates else None,
        extended_support_ends=dates[1] if dates else None,
        source="table",
    )


def upgrade_target(engine: str, version: str) -> str | None:
    """The version to major-upgrade to when ``version`` has no Serverless v2: the
    lowest major with v2 support, at its newest known minor."""
    known = LATEST_MINOR.get(engine, {})
    for candidate_major in sorted(known):
        if candidate_major > major(version):
            return known[candidate_major]
    return None

"""What AWS documents about Aurora engine versions, as data.

Used as the fallback when ``DescribeDBEngineVersions`` /
``DescribeDBMajorEngineVersions`` do not answer (moto does not implement
them; a tight IAM policy may deny them). Checked against AWS's pages in
November 2026; check them again when AWS adds versions:

- Serverless v2 minimum versions (most Regions; some Regions start later):
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.Aurora_Fea_Regions_DB-eng.Feature.ServerlessV2.html
  (18 is not in that table yet: its first release, 18.3, is assumed);
- automatic pause ("at least version 16.3, 15.7, 14.12, or 13.15"):
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2-auto-pause.html
- the Data API on provisioned and Serverless v2 clusters, and the Regions
  without it:
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.Aurora_Fea_Regions_DB-eng.Feature.Data_API.html
- support dates and the latest minor of each major (the release calendar):
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraPostgreSQLReleaseNotes/aurorapostgresql-release-calendar.html
- 256 ACU: "256 for recent Aurora versions, or 128 for older versions" with no
  per-version table in the docs; ``ServerlessV2FeaturesSupport.MaxCapacity``
  answers it at run time, the floors below are an assumption:
  https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ServerlessV2ScalingConfiguration.html
- Serverless v1 reached end of life on 2025-03-31; no new v1 clusters since
  2025-01-08: https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless.html
"""

from __future__ import annotations

from snapmigrate.model import EngineFacts

Version = tuple[int, ...]

POSTGRES = "aurora-postgresql"
MYSQL = "aurora-mysql"

#: Lowest minor per major that supports Serverless v2.
V2_MIN_VERSION: dict[str, dict[int, Version]] = {
    POSTGRES: {13: (13, 6), 14: (14, 3), 15: (15, 2), 16: (16, 1), 17: (17, 4), 18: (18, 3)},
    MYSQL: {3: (3, 2, 0)},
}
#: Lowest minor per major whose v2 instances scale to 256 ACU (else 128).
V2_256_ACU: dict[str, dict[int, Version]] = {
    POSTGRES: {13: (13, 13), 14: (14, 10), 15: (15, 5), 16: (16, 1), 17: (17, 4), 18: (18, 3)},
    MYSQL: {3: (3, 6, 0)},
}
#: Lowest minor per major that supports a 0 ACU minimum (automatic pause).
V2_AUTO_PAUSE: dict[str, dict[int, Version]] = {
    POSTGRES: {13: (13, 15), 14: (14, 12), 15: (15, 7), 16: (16, 3), 17: (17, 4), 18: (18, 3)},
    MYSQL: {3: (3, 8, 0)},
}
#: Lowest minor per major where a provisioned/v2 cluster has the Data API.
DATA_API: dict[str, dict[int, Version]] = {
    POSTGRES: {13: (13, 11), 14: (14, 8), 15: (15, 3), 16: (16, 1), 17: (17, 4), 18: (18, 3)},
    MYSQL: {3: (3, 7, 0)},
}
#: Regions where no Aurora PostgreSQL version of a provisioned or v2 cluster has the Data API.
NO_DATA_API_REGIONS = frozenset(
    {
        "ap-south-2",  # Hyderabad
        "ap-southeast-4",  # Melbourne
        "ap-southeast-6",  # New Zealand
        "ap-east-2",  # Taipei
        "ca-west-1",  # Calgary
        "cn-north-1",  # Beijing
        "cn-northwest-1",  # Ningxia
        "eu-central-2",  # Zurich
        "il-central-1",  # Tel Aviv
        "mx-central-1",  # Mexico (Central)
        "us-gov-east-1",
        "us-gov-west-1",
    }
)
#: (end of standard support, end of RDS Extended Support) per major version.
SUPPORT_DATES: dict[str, dict[int, tuple[str, str]]] = {
    POSTGRES: {
        11: ("2024-02-29", "2027-03-31"),
        12: ("2025-02-28", "2028-02-29"),
        13: ("2026-02-28", "2029-02-28"),
        14: ("2027-02-28", "2030-02-28"),
        15: ("2028-02-29", "2031-02-28"),
        16: ("2029-02-28", "2032-02-28"),
        17: ("2030-02-28", "2033-02-28"),
        18: ("2031-02-28", "2034-02-28"),
    },
    MYSQL: {2: ("2024-10-31", "2027-02-28"), 3: ("2028-04-30", "2031-04-30")},
}
#: The newest minor of each major (the release calendar, November 2026).
LATEST_MINOR: dict[str, dict[int, str]] = {
    POSTGRES: {
        11: "11.21",
        12: "12.22",
        13: "13.23",
        14: "14.23",
        15: "15.18",
        16: "16.14",
        17: "17.10",
        18: "18.4",
    },
}
#: Serverless v1's end of life, and the day since which no v1 cluster can be created.
V1_END_OF_LIFE = "2025-03-31"
V1_NO_NEW_CLUSTERS = "2025-01-08"

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

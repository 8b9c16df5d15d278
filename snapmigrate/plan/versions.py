"""Which engine version the target restores at and ends on: what AWS says
(``DescribeDBEngineVersions``, ``DescribeDBMajorEngineVersions``) first, the
documentation table (:mod:`.facts`) only when AWS does not answer. Pure: the
catalog is read by :mod:`.discover`, the choice is made here.

A snapshot restores at its own version or one of its ``ValidUpgradeTarget``; a
version without Serverless v2 (all of 11 and 12) is upgraded after the restore
to a target AWS offers, preferring the newest major still in standard support.
https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DBEngineVersion.html
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_UpgradeDBInstance.PostgreSQL.UpgradeVersion.html
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from snapmigrate.model import EngineFacts
from snapmigrate.plan import facts


@dataclass(frozen=True)
class VersionInfo:
    """One ``DBEngineVersion``: Serverless v2 (``ServerlessV2FeaturesSupport`` present)
    and its limits, the parameter group family, the ``ValidUpgradeTarget`` versions."""

    version: str
    serverless_v2: bool
    min_capacity: float | None = None
    max_capacity: float | None = None
    family: str | None = None
    targets: tuple[str, ...] = ()


@dataclass(frozen=True)
class EngineCatalog:
    """What AWS answered about an engine's versions and its majors' support dates."""

    engine: str
    versions: Mapping[str, VersionInfo] = field(default_factory=dict)
    #: major -> (end of standard support, end of RDS Extended Support), ``YYYY-MM-DD``
    support: Mapping[int, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class VersionChoice:
    """The restore version, the final one, and why (or the input problem)."""

    restore_version: str
    version: str
    problem: str | None = None
    #: Why this final version, when snapmigrate chose an upgrade target itself.
    reason: str | None = None

    @property
    def major_upgrade(self) -> bool:
        return facts.major(self.version) != facts.major(self.restore_version)


def support_dates(
    catalog: EngineCatalog | None, engine: str, major: int
) -> tuple[str, str] | None:
    """(end of standard support, end of Extended Support) of ``major``: AWS's, else the table's."""
    if catalog is not None and major in catalog.support:
        return catalog.support[major]
    return facts.SUPPORT_DATES.get(engine, {}).get(major)


def facts_for(catalog: EngineCatalog | None, engine: str, version: str) -> EngineFacts:
    """What ``engine`` ``version`` can do: from the catalog when it knows the version
    (``source="api"``), else from the documentation table (``source="table"``)."""
    table = facts.facts_from_table(engine, version)
    dates = support_dates(catalog, engine, facts.major(version))
    known = catalog.versions.get(version) if catalog is not None else None
    if known is None:
        return table
    floor = known.min_capacity if known.min_capacity is not None else 0.5
    return EngineFacts(
        engine=engine,
        version=version,
        serverless_v2=known.serverless_v2,
        min_capacity_floor=floor,
        max_capacity_ceiling=known.max_capacity or table.max_capacity_ceiling,
        auto_pause=known.serverless_v2 and floor == 0.0,
        data_api=table.data_api,
        parameter_group_family=known.family or table.parameter_group_family,
        standard_support_ends=dates[0] if dates else None,
        extended_support_ends=dates[1] if dates else None,
        source="api",
    )


def in_standard_support(
    catalog: EngineCatalog | None, engine: str, major: int, today: date
) -> bool | None:
    """Whether ``major`` is still in standard support ``today`` (None: no dates known)."""
    dates = support_dates(catalog, engine, major)
    return None if dates is None else date.fromisoformat(dates[0]) > today


def _upgrade_candidates(
    catalog: EngineCatalog | None, engine: str, version: str
) -> tuple[list[str], str]:
    """Major upgrade targets of ``version`` that have Serverless v2, and where that came
    from: its ``ValidUpgradeTarget`` when AWS answered, else the table's newest minors."""
    base = facts.major(version)
    info = catalog.versions.get(version) if catalog is not None else None
    if catalog is not None and info is not None:
        found = [
            t
            for t in info.targets
            if facts.major(t) > base
            and (catalog.versions.get(t) or VersionInfo(t, False)).serverless_v2
        ]
        return found, f"the ValidUpgradeTarget of {version} (DescribeDBEngineVersions)"
    newest = facts.LATEST_MINOR.get(engine, {})
    found = [v for m, v in newest.items() if m > base and facts.supports_v2(engine, v)]
    return found, "snapmigrate's table of AWS's documented versions (AWS did not answer)"


def choose_upgrade(
    catalog: EngineCatalog | None, engine: str, version: str, today: date
) -> tuple[str, str] | None:
    """The version to upgrade ``version`` to, and why: the newest major still in
    standard support among the Serverless v2 targets AWS offers (at that major's
    newest offered minor), else the newest major offered; None when none has v2."""
    candidates, where = _upgrade_candidates(catalog, engine, version)
    if not candidates:
        return None
    by_major: dict[int, str] = {}
    for candidate in candidates:
        m = facts.major(candidate)
        if m not in by_major or facts.parse_version(candidate) > facts.parse_version(by_major[m]):
            by_major[m] = candidate
    supported = [m for m in by_major if in_standard_support(catalog, engine, m, today)]
    if supported:
        chosen = by_major[max(supported)]
        ends = (support_dates(catalog, engine, max(supported)) or ("?", "?"))[0]
        why = f"the newest major still in standard support (until {ends})"
    else:
        chosen = by_major[max(by_major)]
        why = "the newest major offered (none is still in standard support)"
    return chosen, f"{why}, among the Serverless v2 targets in {where}"


def _offered(catalog: EngineCatalog | None, version: str) -> tuple[str, ...] | None:
    """The ValidUpgradeTarget of ``version`` (None when AWS did not answer for it)."""
    info = catalog.versions.get(version) if catalog is not None else None
    return info.targets if info is not None else None


def choose(
    engine: str,
    base_version: str,
    requested: str | None,
    catalog: EngineCatalog | None,
    today: date,
) -> VersionChoice:
    """Restore and final version for a snapshot at ``base_version``.

    A snapshot restores at its own version or a later one AWS offers; a later
    major is reached by a restore at the snapshot's major, then an upgrade.
    """
    src = facts.parse_version(base_version)
    if requested is None:
        if facts_for(catalog, engine, base_version).serverless_v2:
            return VersionChoice(base_version, base_version)
        upgrade = choose_upgrade(catalog, engine, base_version, today)
        if upgrade is None:
            return VersionChoice(base_version, base_version)
        target, why = upgrade
        return VersionChoice(base_version, target, reason=why)
    if facts.parse_version(requested) < src:
        return VersionChoice(
            base_version,
            base_version,
            problem=f"--engine-version {requested} is older than the snapshot's {base_version}: "
            "AWS restores a snapshot at its own version or later",
        )
    offered = _offered(catalog, base_version)
    if requested != base_version and offered is not None and requested not in offered:
        majors = sorted({facts.major(v) for v in offered})
        listed = ", ".join(
            max((v for v in offered if facts.major(v) == m), key=facts.parse_version)
            for m in majors
        )
        return VersionChoice(
            base_version,
            base_version,
            problem=f"Cannot upgrade {engine} from {base_version} to {requested}: it is not "
            f"among the ValidUpgradeTarget AWS lists for {base_version} (newest per major: "
            f"{listed or 'none'}); choose one of those with --engine-version",
        )
    if facts.major(requested) == src[0]:
        return VersionChoice(requested, requested)
    return VersionChoice(base_version, requested)

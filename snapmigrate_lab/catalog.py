"""``DescribeDBEngineVersions`` and ``DescribeDBMajorEngineVersions``, answered
by the lab from its engine table (moto implements neither: HTTP 500), and
``DescribeOrderableDBInstanceOptions`` for ``db.serverless``.

Filters as the API has them (``Engine``, ``EngineVersion``,
``DBParameterGroupFamily``, ``DefaultOnly``, the ``engine``,
``engine-version``, ``db-parameter-group-family``, ``engine-mode`` and
``status`` filters) and paging (``MaxRecords`` 20-100, default 100, an opaque
``Marker``).
https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DescribeDBEngineVersions.html
https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DescribeDBMajorEngineVersions.html
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any, TypeVar

from snapmigrate_lab import engines
from snapmigrate_lab.answers import filters
from snapmigrate_lab.engines import EngineVersion
from snapmigrate_lab.queryxml import render
from snapmigrate_lab.wire import AwsCall, Refused, Response

T = TypeVar("T")
SERVERLESS = "db.serverless"

STANDARD = "open-source-rds-standard-support"
EXTENDED = "open-source-rds-extended-support"
LOG_TYPES = {
    engines.POSTGRES: ["instance", "postgresql"],
    engines.MYSQL: ["audit", "error", "general", "slowquery"],
}

_FILTERS: dict[str, Callable[[EngineVersion], list[str]]] = {
    "engine": lambda v: [v.engine],
    "engine-version": lambda v: [v.version],
    "db-parameter-group-family": lambda v: [v.family],
    "engine-mode": lambda v: list(v.modes),
    "status": lambda v: ["available"],
}


def answer(call: AwsCall) -> Response | None:
    """The lab's answer to ``call`` when it is one of these operations, else None."""
    if call.action == "DescribeDBEngineVersions":
        found = select_versions(call)
        page, marker = _page(call, found)
        return render(
            "rds", call.action, {"DBEngineVersions": [describe(v) for v in page], "Marker": marker}
        )
    if call.action == "DescribeDBMajorEngineVersions":
        majors, marker = _page(call, select_majors(call))
        return render(
            "rds",
            call.action,
            {"DBMajorEngineVersions": [major_record(m) for m in majors], "Marker": marker},
        )
    if call.action == "DescribeOrderableDBInstanceOptions" and call.param("DBInstanceClass") == (
        SERVERLESS
    ):
        return render("rds", call.action, {"OrderableDBInstanceOptions": serverless_options(call)})
    return None


def serverless_options(call: AwsCall) -> list[dict[str, Any]]:
    """``db.serverless`` options: one per version with Serverless v2 -- "If the command
    doesn't produce any output, Aurora Serverless v2 isn't available for that combination
    of AWS Region and DB engine" (moto ignores the class and lists stale versions):
    https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2.requirements.html
    """
    engine, version = call.param("Engine"), call.param("EngineVersion")
    zones = [{"Name": f"{call.region}{z}"} for z in "abc"]
    return [
        {
            "Engine": v.engine,
            "EngineVersion": v.version,
            "DBInstanceClass": SERVERLESS,
            "AvailabilityZones": zones,
            "SupportedEngineModes": ["provisioned"],
        }
        for v in engines.all_versions()
        if v.serverless_v2
        and (not engine or v.engine == engine)
        and (not version or v.version == version)
    ]


def select_versions(call: AwsCall) -> list[EngineVersion]:
    """The versions ``call`` asks for, in AWS's order."""
    engine, version = call.param("Engine"), call.param("EngineVersion")
    group_family = call.param("DBParameterGroupFamily")
    found = [
        v
        for v in engines.all_versions()
        if (not engine or v.engine == engine) and (not group_family or v.family == group_family)
    ]
    for name, values in filters(call.params).values():
        field = _FILTERS.get(name)
        if field is None:
            raise Refused("InvalidParameterValue", f"Unrecognized filter name: {name}.")
        found = [v for v in found if set(field(v)) & set(values)]
    default_only = bool(call.flag("DefaultOnly"))
    if version and default_only and "." not in version:
        found = [
            v for v in found if v.major == version
        ]  # "the engine and major version combination"
    elif version:
        found = [v for v in found if v.version == version]
    if not default_only:
        return found
    chosen = []
    for name in sorted({v.engine for v in found}):
        mine = [v for v in found if v.engine == name]
        default = engines.find(name, engines.DEFAULT_VERSION.get(name))
        chosen.append(default if default in mine and not version else mine[-1])
    return chosen


def describe(v: EngineVersion) -> dict[str, Any]:
    """One ``DBEngineVersion`` record."""
    record: dict[str, Any] = {
        "Engine": v.engine,
        "MajorEngineVersion": v.major,
        "EngineVersion": v.version,
        "DBParameterGroupFamily": v.family,
        "DBEngineDescription": engines.ENGINE_DESCRIPTION[v.engine],
        "DBEngineVersionDescription": v.description,
        "ValidUpgradeTarget": [upgrade_target(v, t) for t in engines.upgrade_targets(v)],
        "ExportableLogTypes": LOG_TYPES[v.engine],
        "SupportsLogExportsToCloudwatchLogs": True,
        "SupportsReadReplica": False,
        "SupportedEngineModes": list(v.modes),
        "SupportedFeatureNames": [],
        "Status": "available",
        "SupportsParallelQuery": False,
        "SupportsGlobalDatabases": True,
        "SupportsBabelfish": False,
        "SupportsLimitlessDatabase": False,
        "SupportsCertificateRotationWithoutRestart": True,
        "SupportsIntegrations": False,
        "TagList": [],
    }
    if v.serverless_v2:
        record["ServerlessV2FeaturesSupport"] = {
            "MinCapacity": v.min_capacity,
            "MaxCapacity": v.max_capacity,
        }
    return record


def upgrade_target(current: EngineVersion, target: EngineVersion) -> dict[str, Any]:
    """One ``UpgradeTarget``: minor targets are applied automatically only to the
    newest minor of the major."""
    major = engines.is_major_upgrade(current, target)
    newest = engines.newest_of_major(target.engine, target.major)
    return {
        "Engine": target.engine,
        "EngineVersion": target.version,
        "Description": target.description,
        "AutoUpgrade": not major and newest == target,
        "IsMajorVersionUpgrade": major,
        "SupportedEngineModes": list(target.modes),
        "SupportsParallelQuery": False,
        "SupportsGlobalDatabases": True,
        "SupportsBabelfish": False,
        "SupportsLimitlessDatabase": False,
        "SupportsIntegrations": False,
    }


def select_majors(call: AwsCall) -> list[tuple[str, str]]:
    """(engine, major) pairs: Aurora PostgreSQL's, the majors whose support dates
    the release calendar documents."""
    engine, major = call.param("Engine"), call.param("MajorEngineVersion")
    if engine and engine != engines.POSTGRES:
        return []
    return [(engines.POSTGRES, m) for m in engines.PG_LIFECYCLE if not major or m == major]


def major_record(item: tuple[str, str]) -> dict[str, Any]:
    engine, major = item
    released, standard_ends, extended_ends = engines.PG_LIFECYCLE[major]
    extended_starts = (date.fromisoformat(standard_ends) + timedelta(days=1)).isoformat()
    return {
        "Engine": engine,
        "MajorEngineVersion": major,
        "SupportedEngineLifecycles": [
            {
                "LifecycleSupportName": STANDARD,
                "LifecycleSupportStartDate": f"{released}T00:00:00Z",
                "LifecycleSupportEndDate": f"{standard_ends}T00:00:00Z",
            },
            {
                "LifecycleSupportName": EXTENDED,
                "LifecycleSupportStartDate": f"{extended_starts}T00:00:00Z",
                "LifecycleSupportEndDate": f"{extended_ends}T00:00:00Z",
            },
        ],
    }


def _page(call: AwsCall, items: Sequence[T]) -> tuple[list[T], str | None]:
    """One page of ``items`` and the marker of the next (None on the last page)."""
    raw = call.param("MaxRecords")
    size = 100
    if raw is not None:
        try:
            size = int(raw)
        except ValueError:
            size = -1
        if not 20 <= size <= 100:
            raise Refused(
                "InvalidParameterValue",
                f"Invalid value {raw} for MaxRecords. Must be between 20 and 100",
            )
    start = _offset(call.param("Marker"))
    end = start + size
    return list(items[start:end]), _marker(end) if end < len(items) else None


def _marker(offset: int) -> str:
    return base64.urlsafe_b64encode(f"lab-engines:{offset}".encode()).decode()


def _offset(marker: str | None) -> int:
    if not marker:
        return 0
    try:
        text = base64.urlsafe_b64decode(marker.encode()).decode()
        prefix, _, number = text.partition(":")
        if prefix == "lab-engines" and number.isdigit():
            return int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise Refused("InvalidParameterValue", f"The marker {marker} is not valid for this request.")

"""The lab's engine table and its answers, without a lab: upgrade targets by
release order, Serverless v2 features, paging, the XML botocore parses."""

from __future__ import annotations

import botocore.session
import pytest
from botocore.parsers import create_parser

from snapmigrate.errors import BadInput
from snapmigrate_lab import catalog, engines
from snapmigrate_lab.history import History
from snapmigrate_lab.realism import FailRule, Knobs, Realism
from snapmigrate_lab.wire import AwsCall, Refused

MODEL = botocore.session.get_session().get_service_model("rds")


def ask(action: str, **params: str) -> dict:
    """The lab's answer to ``action``, parsed by botocore as a client would."""
    response = catalog.answer(
        AwsCall("rds", "us-east-1", action, "query", {"Action": action, **params})
    )
    assert response is not None and response.status == 200
    parsed = create_parser("query").parse(
        {"body": response.body, "headers": dict(response.headers), "status_code": 200},
        MODEL.operation_model(action).output_shape,
    )
    parsed.pop("ResponseMetadata")
    return parsed


def targets_of(engine: str, version: str) -> list[str]:
    current = engines.find(engine, version)
    assert current is not None
    return [t.version for t in engines.upgrade_targets(current)]


def targets(version: str) -> list[str]:
    return targets_of(engines.POSTGRES, version)


def test_a_minor_upgrades_only_to_versions_released_with_it_or_later():
    # the 2023 upgrade table of the Aurora User Guide:
    # 11.16 -> 13.7, 14.3, 14.4; 11.17 -> 13.8, not 13.7
    assert {"13.7", "14.3", "14.4", "11.17", "13.10", "15.2"} <= set(targets("11.16"))
    assert "13.7" not in targets("11.17") and "14.4" not in targets("11.17")
    assert {"13.8", "14.5", "11.18", "15.2"} <= set(targets("11.17"))
    assert "11.21" not in targets("13.12")  # never down a major
    assert targets("18.4") == []
    assert all(
        v.startswith("8.0.mysql_aurora.3.")
        for v in targets_of(engines.MYSQL, "8.0.mysql_aurora.3.04.0")
    )


@pytest.mark.parametrize(
    ("version", "v2", "min_capacity", "max_capacity", "modes"),
    [
        ("11.21", False, None, None, ("provisioned",)),
        ("12.22", False, None, None, ("provisioned",)),
        ("13.5", False, None, None, ("provisioned",)),
        ("13.6", True, 0.5, 128.0, ("provisioned",)),
        ("13.12", True, 0.5, 128.0, ("provisioned", "serverless")),
        ("13.15", True, 0.0, 256.0, ("provisioned",)),
        ("14.11", True, 0.5, 256.0, ("provisioned",)),
        ("14.12", True, 0.0, 256.0, ("provisioned",)),
        ("15.6", True, 0.5, 256.0, ("provisioned",)),
        ("16.3", True, 0.0, 256.0, ("provisioned",)),
        ("17.4", True, 0.0, 256.0, ("provisioned",)),
        ("18.3", True, 0.0, 256.0, ("provisioned",)),
    ],
)
def test_serverless_features_follow_the_documented_versions(
    version, v2, min_capacity, max_capacity, modes
):
    v = engines.find(engines.POSTGRES, version)
    assert v is not None
    assert (v.serverless_v2, v.min_capacity, v.max_capacity, v.modes) == (
        v2,
        min_capacity,
        max_capacity,
        modes,
    )
    assert v.family == f"aurora-postgresql{version.split('.')[0]}"


def test_default_parameter_groups_are_per_major():
    assert (
        engines.default_parameter_group("aurora-postgresql", "13.12")
        == "default.aurora-postgresql13"
    )
    assert (
        engines.default_parameter_group("aurora-postgresql", "9.99") == "default.aurora-postgresql9"
    )
    assert (
        engines.default_parameter_group("aurora-mysql", "8.0.mysql_aurora.3.05.0")
        == "default.aurora-mysql8.0"
    )
    assert (
        engines.default_parameter_group("aurora-mysql", "5.7.mysql_aurora.2.11.2")
        == "default.aurora-mysql5.7"
    )
    assert engines.default_parameter_group("neptune", "1.3") is None


def test_describe_db_engine_versions_parses_as_aws_answers():
    found = ask("DescribeDBEngineVersions", Engine="aurora-postgresql", EngineVersion="13.12")[
        "DBEngineVersions"
    ]
    assert len(found) == 1
    v = found[0]
    assert (v["Engine"], v["EngineVersion"], v["DBParameterGroupFamily"]) == (
        "aurora-postgresql",
        "13.12",
        "aurora-postgresql13",
    )
    assert v["DBEngineDescription"] == "Aurora (PostgreSQL)"
    assert v["SupportedEngineModes"] == ["provisioned", "serverless"]
    assert v["ServerlessV2FeaturesSupport"] == {"MinCapacity": 0.5, "MaxCapacity": 128.0}
    first = v["ValidUpgradeTarget"][0]
    assert first["Engine"] == "aurora-postgresql" and first["IsMajorVersionUpgrade"] is False
    assert {"EngineVersion", "AutoUpgrade", "SupportedEngineModes"} <= set(first)
    majors = [t for t in v["ValidUpgradeTarget"] if t["IsMajorVersionUpgrade"]]
    assert majors and all(t["EngineVersion"].split(".")[0] != "13" for t in majors)
    eleven = ask("DescribeDBEngineVersions", Engine="aurora-postgresql", EngineVersion="11.21")[
        "DBEngineVersions"
    ][0]
    assert "ServerlessV2FeaturesSupport" not in eleven


def test_filters_default_only_and_paging():
    every = ask("DescribeDBEngineVersions", Engine="aurora-postgresql")["DBEngineVersions"]
    assert len(every) > 80 and all(v["Engine"] == "aurora-postgresql" for v in every)
    pages, marker = [], None
    while True:
        params = {
            "Engine": "aurora-postgresql",
            "MaxRecords": "20",
            **({"Marker": marker} if marker else {}),
        }
        answer = ask("DescribeDBEngineVersions", **params)
        pages.append(answer["DBEngineVersions"])
        marker = answer.get("Marker")
        if not marker:
            break
    assert [len(p) for p in pages[:-1]] == [20] * (len(pages) - 1)
    assert [v["EngineVersion"] for p in pages for v in p] == [v["EngineVersion"] for v in every]
    default = ask("DescribeDBEngineVersions", Engine="aurora-postgresql", DefaultOnly="true")[
        "DBEngineVersions"
    ]
    assert [v["EngineVersion"] for v in default] == [engines.DEFAULT_VERSION["aurora-postgresql"]]
    of_13 = ask(
        "DescribeDBEngineVersions",
        Engine="aurora-postgresql",
        EngineVersion="13",
        DefaultOnly="true",
    )
    assert [v["EngineVersion"] for v in of_13["DBEngineVersions"]] == ["13.23"]
    family = ask("DescribeDBEngineVersions", DBParameterGroupFamily="aurora-postgresql15")[
        "DBEngineVersions"
    ]
    assert family and {v["EngineVersion"].split(".")[0] for v in family} == {"15"}
    v1 = ask(
        "DescribeDBEngineVersions",
        **{
            "Engine": "aurora-postgresql",
            "Filters.Filter.1.Name": "engine-mode",
            "Filters.Filter.1.Values.Value.1": "serverless",
        },
    )
    assert [v["EngineVersion"] for v in v1["DBEngineVersions"]] == ["11.18", "13.9", "13.12"]
    assert ask("DescribeDBEngineVersions", Engine="postgres")["DBEngineVersions"] == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"MaxRecords": "5"}, "Invalid value 5 for MaxRecords. Must be between 20 and 100"),
        ({"MaxRecords": "101"}, "Invalid value 101 for MaxRecords"),
        ({"Marker": "not-ours"}, "The marker not-ours is not valid"),
        (
            {"Filters.Filter.1.Name": "colour", "Filters.Filter.1.Values.Value.1": "x"},
            "Unrecognized filter name: colour",
        ),
    ],
)
def test_bad_paging_and_filters_are_invalid_parameter_values(params, message):
    call = AwsCall(
        "rds",
        "us-east-1",
        "DescribeDBEngineVersions",
        "query",
        {"Engine": "aurora-postgresql", **params},
    )
    with pytest.raises(Refused) as err:
        catalog.answer(call)
    assert err.value.code == "InvalidParameterValue" and message in err.value.message


def test_major_engine_versions_carry_the_release_calendar():
    majors = ask("DescribeDBMajorEngineVersions", Engine="aurora-postgresql")
    majors = majors["DBMajorEngineVersions"]
    assert [m["MajorEngineVersion"] for m in majors] == [str(major) for major in range(11, 19)]
    thirteen = {x["LifecycleSupportName"]: x for x in majors[2]["SupportedEngineLifecycles"]}
    assert (
        str(thirteen["open-source-rds-standard-support"]["LifecycleSupportEndDate"])[:10]
        == "2026-02-28"
    )
    assert (
        str(thirteen["open-source-rds-extended-support"]["LifecycleSupportStartDate"])[:10]
        == "2026-03-01"
    )
    assert (
        str(thirteen["open-source-rds-extended-support"]["LifecycleSupportEndDate"])[:10]
        == "2029-02-28"
    )
    one = ask("DescribeDBMajorEngineVersions", Engine="aurora-postgresql", MajorEngineVersion="11")
    assert [m["MajorEngineVersion"] for m in one["DBMajorEngineVersions"]] == ["11"]


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_a_failure_rule_ends_a_creation_in_its_state_for_good():
    clock = Clock()
    realism = Realism(
        Knobs(fail=(FailRule("RestoreDBClusterFromSnapshot", state="migration-failed"),)),
        clock=clock,
    )
    # a state rule is no fault: the call goes through
    assert (
        realism.fault("RestoreDBClusterFromSnapshot", after=False, throttle_code="Throttling")
        is None
    )
    assert realism.failure_state("CreateDBCluster") is None
    assert realism.failure_state("RestoreDBClusterFromSnapshot") == "migration-failed"
    assert realism.failure_state("RestoreDBClusterFromSnapshot") is None  # used up
    realism.fail("cluster", "r", "c", "migration-failed")  # delays off: one poll of creating
    seen = [realism.phase("cluster", "r", "c", poll=True) for _ in range(4)]
    assert [p.status if p else None for p in seen] == [
        "creating",
        "migration-failed",
        "migration-failed",
        "migration-failed",
    ]
    clock.now += 3600
    assert realism.busy("cluster", "r", "c") == "migration-failed"
    realism.forget("cluster", "r", "c")
    assert realism.busy("cluster", "r", "c") is None


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            {"action": "ModifyDBCluster", "state": "migration-failed"},
            "takes one of CreateDBCluster",
        ),
        (
            {"action": "RestoreDBClusterFromSnapshot", "state": "storage-full"},
            "no cluster failure state",
        ),
        ({"action": "CreateDBInstance", "state": "migration-failed"}, "no instance failure state"),
        (
            {"action": "CreateDBInstance", "state": "incompatible-parameters", "after": True},
            "cannot also lose",
        ),
    ],
)
def test_failure_rules_reject_states_aws_does_not_have(rule, message):
    with pytest.raises(BadInput, match=message):
        FailRule(**rule)
    with pytest.raises(BadInput, match=message):
        Knobs.from_dict({"fail": [rule]})


def test_history_follows_renames_and_delays_the_new_names():
    clock = Clock()
    history = History(clock=clock)
    history.begin("r", "a", "restore").provisioned_first = True
    history.rename("r", "a", "b", dns_delay_s=120)
    assert history.get("r", "a") is None
    assert history.get("r", "b").provisioned_first and history.names_pending("r", "b")
    clock.now += 119
    assert history.names_pending("r", "b")
    clock.now += 1
    assert not history.names_pending("r", "b")
    assert Knobs.from_dict({"rename_dns_delay_s": "2.5"}).rename_dns_delay_s == 2.5
    with pytest.raises(BadInput, match="must not be negative"):
        Knobs(rename_dns_delay_s=-1)

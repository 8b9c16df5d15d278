"""Realism knobs without a lab: faults, fail rules, transitions (fake clock)."""

from __future__ import annotations

import pytest

from snapmigrate.errors import BadInput
from snapmigrate_lab.names import DnsNames
from snapmigrate_lab.realism import FailRule, Knobs, Realism
from snapmigrate_lab.topology import Topology


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def draws(realism: Realism, n: int) -> list[str | None]:
    out = []
    for _ in range(n):
        fault = realism.fault("DescribeDBClusters", after=False, throttle_code="Throttling")
        out.append(fault.code if fault else None)
    return out


def test_fault_rates_are_deterministic_with_a_seed_and_near_the_rate():
    knobs = Knobs(throttle_rate=0.2, error_rate=0.1, seed=42)
    first, second = draws(Realism(knobs), 2000), draws(Realism(knobs), 2000)
    assert first == second
    throttled = first.count("Throttling") / len(first)
    errors = sum(c in ("InternalFailure", "ServiceUnavailable") for c in first) / len(first)
    assert 0.17 < throttled < 0.23
    assert 0.07 < errors < 0.13
    assert draws(Realism(Knobs(throttle_rate=0.2, error_rate=0.1, seed=43)), 2000) != first
    assert set(draws(Realism(Knobs()), 200)) == {None}


def test_fail_rules_hit_the_named_call_only_the_given_number_of_times():
    realism = Realism(
        Knobs(fail=(FailRule("CreateDBClusterSnapshot", "SnapshotQuotaExceeded", times=2),))
    )
    assert realism.fault("DescribeDBClusters", after=False, throttle_code="Throttling") is None
    assert realism.fault("CreateDBClusterSnapshot", after=True, throttle_code="Throttling") is None
    codes = [
        realism.fault("CreateDBClusterSnapshot", after=False, throttle_code="Throttling")
        for _ in range(3)
    ]
    assert [c.code if c else None for c in codes] == [
        "SnapshotQuotaExceeded",
        "SnapshotQuotaExceeded",
        None,
    ]
    realism.add_rule(FailRule("DeleteDBCluster", after=True))
    assert realism.fault("DeleteDBCluster", after=False, throttle_code="T") is None
    assert realism.fault("DeleteDBCluster", after=True, throttle_code="T").code == "InternalFailure"
    assert realism.knobs.fail == ()


def test_transitions_last_n_polls_with_rising_progress():
    realism = Realism(Knobs(delay_polls=3))
    assert realism.begin("snapshot", "us-east-1", "s1", "creating")
    seen = [realism.phase("snapshot", "us-east-1", "s1", poll=True) for _ in range(4)]
    assert [p.status if p else None for p in seen] == ["creating", "creating", "creating", None]
    assert [p.percent for p in seen[:3]] == [0, 33, 66]
    # looking without polling does not use up the transition
    realism.begin("cluster", "us-east-1", "c1", "backing-up")
    assert all(realism.busy("cluster", "us-east-1", "c1") == "backing-up" for _ in range(10))


def test_transitions_last_t_seconds_and_both_limits_must_pass():
    clock = Clock()
    realism = Realism(Knobs(delay_polls=1, delay_seconds=10), clock=clock)
    realism.begin("cluster", "r", "c", "modifying")
    assert realism.phase("cluster", "r", "c", poll=True).status == "modifying"
    assert (
        realism.phase("cluster", "r", "c", poll=True).status == "modifying"
    )  # polls done, time not
    clock.now += 5
    assert realism.phase("cluster", "r", "c", poll=True).percent == 50
    clock.now += 5
    assert realism.phase("cluster", "r", "c", poll=True) is None


def test_no_delays_means_no_transitions_and_renames_carry_them():
    realism = Realism(Knobs())
    assert not realism.begin("cluster", "r", "c", "creating")
    assert realism.phase("cluster", "r", "c", poll=True) is None
    realism.set(Knobs(delay_polls=2))
    realism.begin("cluster", "r", "old", "renaming")
    realism.rename("cluster", "r", "old", "new")
    assert realism.busy("cluster", "r", "old") is None
    assert realism.busy("cluster", "r", "new") == "renaming"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"throttle_rate": 1.5}, "between 0 and 1"),
        ({"throttle_rate": 0.6, "error_rate": 0.6}, "must not exceed 1"),
        ({"delay_polls": -1}, "must not be negative"),
        ({"nonsense": 1}, "unknown knob"),
        ({"fail": [{"action": "lowercase"}]}, "API operation name"),
        ({"fail": [{"action": "X", "bogus": 1}]}, "bad fail rule"),
    ],
)
def test_bad_knobs_are_bad_input(data, message):
    with pytest.raises(BadInput, match=message):
        Knobs.from_dict(data)


def test_knobs_round_trip_and_merge():
    knobs = Knobs.from_dict(
        {"delay_polls": "2", "fail": [{"action": "CreateDBCluster", "after": True}]}
    )
    assert Knobs.from_dict(knobs.to_dict()) == knobs
    merged = Knobs.from_dict({"throttle_rate": 0.5}, base=knobs)
    assert merged.delay_polls == 2 and merged.throttle_rate == 0.5 and merged.fail == knobs.fail


def test_membership_follows_renames_and_failovers():
    topo = Topology()
    topo.add_cluster("r", "src")
    topo.add_instance("r", "i1", "src")
    topo.add_instance("r", "i2", "src", promotion_tier=0)
    assert [(m.instance_id, m.writer) for m in topo.members("r", "src")] == [
        ("i1", True),
        ("i2", False),
    ]
    topo.rename_cluster("r", "src", "src-old")
    assert topo.members("r", "src") == [] and topo.cluster_of("r", "i1") == "src-old"
    topo.failover("r", "src-old", "i2")
    assert [m.instance_id for m in topo.members("r", "src-old") if m.writer] == ["i2"]
    topo.remove_instance("r", "i2")
    assert [m.writer for m in topo.members("r", "src-old")] == [True]


def test_endpoint_names_get_one_identifier_per_region():
    names = DnsNames(token="fixed")
    a = names.host("a.cluster-abcdefghijkl.us-east-1.rds.amazonaws.com")
    b = names.host("b.cluster-ro-zzzzzzzzzzzz.us-east-1.rds.amazonaws.com")
    i = names.host("inst-1.aaaaaaaaaa.us-east-1.rds.amazonaws.com")
    ident = names.identifier("us-east-1")
    assert a == f"a.cluster-{ident}.us-east-1.rds.amazonaws.com"
    assert b == f"b.cluster-ro-{ident}.us-east-1.rds.amazonaws.com"
    assert i == f"inst-1.{ident}.us-east-1.rds.amazonaws.com"
    assert names.identifier("eu-west-1") != ident
    assert names.host("db.example.com") == "db.example.com"

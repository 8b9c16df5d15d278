"""Fixtures for migrate: a fake clock, botocore hooks that make moto behave like
AWS (resources that pass through creating/modifying, throttling, 5xx) and that
crash a run at a chosen call, and a normalised view of the AWS state."""

from __future__ import annotations

import copy
import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from snapmigrate.aws import AwsSettings, Clients
from snapmigrate.migrate.context import RunSettings
from snapmigrate.migrate.runner import Runner
from snapmigrate.model import Plan
from snapmigrate.plan import make_plan
from snapmigrate.plan.options import PlanOptions
from snapmigrate.waiting import Status
from snapmigrate.workflow.journal import Journal
from tests import seed
from tests.conftest import MUTATING_PREFIXES

RUN_ID = "0badcafe"


class Crash(BaseException):
    """The process dies here: nothing in snapmigrate may catch it."""


class FakeClock:
    """Monotonic time that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Transition:
    """Statuses a resource shows in its next describes, before moto's real one."""

    statuses: list[str]
    percents: list[int] = field(default_factory=list)


class AwsHooks:
    """botocore event handlers on one :class:`Clients`' session.

    - ``calls``: every RDS call as (operation, params) -- what WE sent;
    - ``simulate``: after a create/modify, the resource shows transitional
      states for a few describes (moto makes everything instant);
    - ``throttle_rate``: that fraction of calls answered 400 Throttling or
      503 before they reach moto;
    - ``crash_at``: raise :class:`Crash` (or any exception) before or after
      the n-th call of an operation, or the n-th call overall.
    """

    def __init__(self, clients: Clients, *, simulate: bool = True, polls: int = 3) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.simulate = simulate
        self.polls = polls
        self.pending: dict[str, Transition] = {}
        self.throttle_rate = 0.0
        self.throttled = 0
        self.rng = random.Random(7)
        self.crash: tuple[str, str | None, int, BaseException] | None = None
        self.counts: dict[tuple[str, str | None], int] = defaultdict(int)
        self.seen_statuses: dict[str, list[str]] = defaultdict(list)
        #: mutating calls AWS executed (answered < 300), kept across a crash
        self.executed: list[str] = []
        #: mutating requests sent to AWS (whatever the answer), kept across a crash
        self.requested: list[str] = []
        self.fake: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}
        #: fields moto does not keep (Data API on a v2 cluster, Performance Insights), per cluster
        self.overlay: dict[str, dict[str, Any]] = {}
        events = clients.session.events
        events.register("before-parameter-build.rds", self._record)
        events.register("before-call.rds", self._before_call)
        events.register("after-call.rds", self._after_call)
        events.register("before-send.rds", self._before_send)

    def reset(self, *, aws: bool = True) -> None:
        """Forget the calls and the crash; with ``aws``, the simulated AWS state too
        (keep it across a crash: AWS goes on creating while the tool is dead)."""
        self.calls.clear()
        self.counts.clear()
        self.seen_statuses.clear()
        if aws:
            self.pending.clear()
            self.overlay.clear()
            self.executed.clear()
            self.requested.clear()
        self.crash = None
        self.throttle_rate = 0.0
        self.throttled = 0

    # -- recording ------------------------------------------------------------

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.name, copy.deepcopy(params)))

    @property
    def mutating(self) -> list[tuple[str, dict[str, Any]]]:
        return [(op, p) for op, p in self.calls if op.startswith(MUTATING_PREFIXES)]

    def sent(self, operation: str) -> list[dict[str, Any]]:
        return [p for op, p in self.calls if op == operation]

    # -- crashing -------------------------------------------------------------

    def crash_at(
        self, when: str, operation: str | None, nth: int, exc: BaseException | None = None
    ) -> None:
        """Raise before/after the ``nth`` call of ``operation`` (None: of any operation)."""
        self.crash = (when, operation, nth, exc or Crash(f"{when} {operation or 'call'} #{nth}"))

    def _maybe_crash(self, when: str, name: str) -> None:
        if self.crash is None:
            return
        at, operation, nth, exc = self.crash
        if at != when or operation not in (None, name):
            return
        self.counts[(when, operation)] += 1
        if self.counts[(when, operation)] == nth:
            self.crash = None
            raise exc

    def _before_call(self, model: Any, params: dict[str, Any], **_: Any) -> Any:
        self._maybe_crash("before", model.name)
        if self.throttle_rate and self.rng.random() < self.throttle_rate:
            return self._throttled()
        fake = self.fake.get(model.name)
        if fake is not None:
            from botocore.awsrequest import AWSResponse

            return AWSResponse("https://fake", 200, {}, None), fake(self.calls[-1][1])
        return None

    # -- simulated AWS behaviour ----------------------------------------------

    def _before_send(self, request: Any, event_name: str = "", **_: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        if operation.startswith(MUTATING_PREFIXES):
            self.requested.append(operation)

    def _throttled(self) -> Any:
        """An injected 400 Throttling or 503, as (http response, parsed) for ``before-call``.

        Injected at ``before-call`` (which stops at the first answer) rather than
        ``before-send``: botocore runs *every* before-send handler, so moto would
        execute the request anyway. Nothing reaches moto, as with a real throttle.
        """
        from botocore.awsrequest import AWSResponse

        self.throttled += 1
        status, code = (
            (400, "Throttling") if self.rng.random() < 0.5 else (503, "ServiceUnavailable")
        )
        parsed = {
            "Error": {"Code": code, "Message": "injected", "Type": "Sender"},
            "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "injected"},
        }
        return AWSResponse("https://injected", status, {}, None), parsed

    def _after_call(self, http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if http_response.status_code < 300 and model.name.startswith(MUTATING_PREFIXES):
            self.executed.append(model.name)
        if http_response.status_code < 300 and self.simulate:
            self._transitions(model.name, self.calls[-1][1] if self.calls else {}, parsed)
        self._maybe_crash("after", model.name)

    def _start(self, key: str, statuses: list[str], percents: list[int] | None = None) -> None:
        self.pending[key] = Transition(list(statuses), list(percents or []))

    def _transitions(self, op: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        n = self.polls
        if op == "CreateDBClusterSnapshot":
            self._start(
                "snapshot:" + params["DBClusterSnapshotIdentifier"],
                ["creating"] * n,
                [int(100 * i / n) for i in range(n)],
            )
        elif op == "RestoreDBClusterFromSnapshot":
            self._start(
                "cluster:" + params["DBClusterIdentifier"], ["creating"] * (n - 1) + ["backing-up"]
            )
        elif op in ("ModifyDBCluster", "EnableHttpEndpoint"):
            cluster = (
                params.get("DBClusterIdentifier")
                or params.get("ResourceArn", "").rsplit(":", 1)[-1]
            )
            status = "upgrading" if params.get("AllowMajorVersionUpgrade") else "modifying"
            self._start("cluster:" + cluster, [status] * n)
            # moto keeps neither of these for a provisioned cluster: AWS would
            if op == "EnableHttpEndpoint":
                self.overlay.setdefault(cluster, {})["HttpEndpointEnabled"] = True
            if params.get("EnablePerformanceInsights"):
                self.overlay.setdefault(cluster, {})["PerformanceInsightsEnabled"] = True
        elif op == "FailoverDBCluster":
            self._start("cluster:" + params["DBClusterIdentifier"], ["failing-over"] * n)
        elif op == "CreateDBInstance":
            self._start(
                "instance:" + params["DBInstanceIdentifier"],
                ["creating"] * (n - 1) + ["configuring-enhanced-monitoring"],
            )
        elif op == "DescribeDBClusterSnapshots":
            for snap in parsed.get("DBClusterSnapshots", []):
                self._apply(
                    "snapshot:" + snap["DBClusterSnapshotIdentifier"],
                    snap,
                    "Status",
                    "PercentProgress",
                )
        elif op == "DescribeDBClusters":
            for cluster in parsed.get("DBClusters", []):
                self._apply("cluster:" + cluster["DBClusterIdentifier"], cluster, "Status", None)
                for key, value in self.overlay.get(cluster["DBClusterIdentifier"], {}).items():
                    cluster[key] = value
        elif op == "DescribeDBInstances":
            for inst in parsed.get("DBInstances", []):
                self._apply(
                    "instance:" + inst["DBInstanceIdentifier"], inst, "DBInstanceStatus", None
                )

    def _apply(
        self, key: str, resource: dict[str, Any], status_key: str, percent_key: str | None
    ) -> None:
        t = self.pending.get(key)
        if t is None:
            self.seen_statuses[key].append(resource.get(status_key, ""))
            return
        resource[status_key] = t.statuses.pop(0)
        if percent_key and t.percents:
            resource[percent_key] = t.percents.pop(0)
        self.seen_statuses[key].append(resource[status_key])
        if not t.statuses:
            del self.pending[key]


def hooked_clients(
    *, simulate: bool = True, max_attempts: int = 1, polls: int = 3
) -> tuple[Clients, AwsHooks]:
    """Clients whose calls are recorded and shaped by :class:`AwsHooks`.

    ``max_attempts=1`` (one attempt in all) turns botocore's own retries off:
    our retry layer alone must ride out what the hooks inject.
    """
    clients = Clients(AwsSettings(region="us-east-1", max_attempts=max_attempts))
    hooks = AwsHooks(clients, simulate=simulate, polls=polls)
    return clients, hooks


@dataclass
class Env:
    """One test's AWS (moto), journal and plan."""

    rds: Any
    state_dir: Path
    plan: Plan

    def runner(
        self, clients: Clients, *, connect: bool = False, clock: FakeClock | None = None, **kw: Any
    ) -> Runner:
        settings = kw.pop("settings", None) or RunSettings(connect=connect)
        run_ids = kw.pop("run_ids", lambda: RUN_ID)
        return Runner(
            clients,
            Journal(self.state_dir),
            settings=settings,
            clock=clock or FakeClock(),
            run_ids=run_ids,
            rng=random.Random(1),
            **kw,
        )


@pytest.fixture
def world() -> Iterator[Any]:
    """moto that a test can reset (not restart) between runs."""
    from moto import mock_aws

    mock = mock_aws()
    mock.start()
    try:
        yield mock
    finally:
        mock.stop()


@pytest.fixture
def rds(moto: None) -> Any:
    return boto3.client("rds", region_name="us-east-1")


def make_env(
    rds: Any, tmp_path: Path, *, source: str = "legacy", target: str = "fresh", readers: int = 2,
    version: str = "13.12", clients: Clients | None = None, **options: Any,
) -> Env:  # fmt: skip
    if source not in {c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]}:
        seed.v1_cluster(rds, identifier=source, version=version)
    clients = clients or Clients(AwsSettings(region="us-east-1"))
    plan = make_plan(clients, source, PlanOptions(target=target, readers=readers, **options))
    assert not plan.blocked, [f for f in plan.findings if f.level == "block"]
    return Env(rds=rds, state_dir=tmp_path / "state", plan=plan)


@pytest.fixture
def env(rds: Any, tmp_path: Path) -> Env:
    return make_env(rds, tmp_path)


def aws_state(rds: Any) -> dict[str, Any]:
    """What exists, without what differs run to run (random endpoint names, times)."""
    clusters = {
        c["DBClusterIdentifier"]: {
            "mode": c.get("EngineMode"),
            "version": c.get("EngineVersion"),
            "status": c.get("Status"),
            "v2": c.get("ServerlessV2ScalingConfiguration"),
            "deletion_protection": c.get("DeletionProtection"),
            "tags": sorted((t["Key"], t["Value"]) for t in c.get("TagList", [])),
            "writer": sorted(
                m["DBInstanceIdentifier"]
                for m in c.get("DBClusterMembers", [])
                if m["IsClusterWriter"]
            ),
        }
        for c in rds.describe_db_clusters()["DBClusters"]
    }
    instances = {
        i["DBInstanceIdentifier"]: {
            "cluster": i.get("DBClusterIdentifier"),
            "class": i.get("DBInstanceClass"),
            "az": i.get("AvailabilityZone"),
            "tier": i.get("PromotionTier"),
            "status": i.get("DBInstanceStatus"),
            "tags": sorted((t["Key"], t["Value"]) for t in i.get("TagList", [])),
        }
        for i in rds.describe_db_instances()["DBInstances"]
    }
    snapshots = {
        s["DBClusterSnapshotIdentifier"]: {
            "cluster": s.get("DBClusterIdentifier"),
            "status": s.get("Status"),
            "tags": sorted((t["Key"], t["Value"]) for t in s.get("TagList", [])),
        }
        for s in rds.describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
    }
    return {"clusters": clusters, "instances": instances, "snapshots": snapshots}


def progress_log() -> tuple[list[tuple[str, str]], Any]:
    """A progress sink that remembers every (label, status) it was shown."""
    seen: list[tuple[str, str]] = []

    class Sink:
        def begin(self, what: str, labels: Any) -> None:
            seen.append((what, "begin"))

        def update(self, label: str, status: Status, elapsed_s: float) -> None:
            seen.append(
                (
                    label,
                    status.status
                    if status.percent is None
                    else f"{status.status} {status.percent}%",
                )
            )

        def end(self) -> None:
            pass

    return seen, Sink()

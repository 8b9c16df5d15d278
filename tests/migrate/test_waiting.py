"""The waiting primitive on its own: backoff, timeout, transient errors, progress."""

from __future__ import annotations

import io
import logging
import random

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from snapmigrate.errors import OperationFailed, WaitTimeout
from snapmigrate.waiting import (
    LogProgress,
    NullProgress,
    Status,
    TqdmProgress,
    Waiter,
    WaitPolicy,
    duration,
    progress_for,
)
from tests.migrate.conftest import FakeClock, progress_log


def client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "DescribeDBClusters",
    )


def sequence(*answers):
    """A poll answering from ``answers`` in turn (exceptions are raised)."""
    it = iter(answers)

    def poll():
        answer = next(it)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    return poll


def test_done_after_several_polls_with_capped_jittered_backoff():
    clock = FakeClock()
    waiter = Waiter(clock=clock, rng=random.Random(3))
    creating = {"c": Status("creating")}
    result = waiter.wait(
        "cluster c",
        sequence(*[creating] * 7, {"c": Status("available", done=True)}),
        WaitPolicy(timeout_s=3600, first_delay_s=5, max_delay_s=40),
    )
    assert result.polls == 8 and result.final == {"c": "available"}
    assert len(clock.sleeps) == 7
    for n, slept in enumerate(clock.sleeps):
        nominal = min(5 * 2**n, 40)
        assert 0.75 * nominal <= slept <= nominal
    assert clock.sleeps[-1] <= 40 and result.elapsed_s == pytest.approx(sum(clock.sleeps))


def test_transient_errors_are_ridden_out_and_counted():
    waiter = Waiter(clock=FakeClock())
    poll = sequence(
        client_error("Throttling", 400),
        client_error("InternalFailure", 500),
        EndpointConnectionError(endpoint_url="https://rds"),
        {"c": Status("available", done=True)},
    )
    result = waiter.wait("cluster c", poll, WaitPolicy(timeout_s=600))
    assert result.transient_errors == 3 and result.polls == 4


def test_other_errors_stop_the_wait_translated():
    waiter = Waiter(clock=FakeClock())
    with pytest.raises(OperationFailed, match="snapmigrate permissions"):
        waiter.wait(
            "cluster c", sequence(client_error("AccessDenied", 403)), WaitPolicy(timeout_s=600)
        )


def test_a_failed_state_stops_the_wait():
    waiter = Waiter(clock=FakeClock())
    poll = sequence(
        {"c": Status("creating")},
        {"c": Status("incompatible-restore", failed="will not become available")},
    )
    with pytest.raises(
        OperationFailed, match="c is incompatible-restore: will not become available"
    ):
        waiter.wait("cluster c", poll, WaitPolicy(timeout_s=600))


def test_timeout_names_what_and_the_last_state():
    clock = FakeClock()
    waiter = Waiter(clock=clock)
    with pytest.raises(WaitTimeout) as err:
        waiter.wait(
            "snapshot s",
            lambda: {"s": Status("creating", percent=40)},
            WaitPolicy(timeout_s=300, first_delay_s=10, max_delay_s=60),
        )
    assert "snapshot s not done after 5m00s (last seen: s creating 40%)" in str(err.value)
    assert clock.now == pytest.approx(300)  # the last sleep is cut to the deadline
    assert err.value.exit_code == 1


def test_waits_count_the_api_calls_they_make(clients):
    from tests import seed

    seed.v1_cluster(clients.rds())
    waiter = Waiter(clock=FakeClock())
    rds = clients.rds()
    waiter.counter.attach(rds)
    answers = iter([False, False, True])

    def poll():
        rds.describe_db_clusters(DBClusterIdentifier="legacy")
        return {"legacy": Status("available", done=next(answers))}

    result = waiter.wait("cluster legacy", poll, WaitPolicy(timeout_s=600))
    assert (result.polls, result.api_calls) == (3, 3)


def test_policy_checks_itself():
    with pytest.raises(ValueError):
        WaitPolicy(timeout_s=0)
    with pytest.raises(ValueError):
        WaitPolicy(timeout_s=10, first_delay_s=30, max_delay_s=5)


def test_progress_sinks(caplog):
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert isinstance(progress_for(quiet=True, stream=Tty()), NullProgress)
    assert isinstance(progress_for(quiet=False, stream=Tty()), TqdmProgress)
    assert isinstance(progress_for(quiet=False, stream=io.StringIO()), LogProgress)

    stream = Tty()
    bars = TqdmProgress(stream)
    bars.begin("instances", ["w", "r"])
    bars.update("w", Status("creating", percent=None), 3)
    bars.update("r", Status("available", done=True), 3)
    bars.end()
    text = stream.getvalue()
    assert "w:   0%" in text and "creating" in text and "r: 100%" in text

    caplog.set_level(logging.INFO, logger="snapmigrate.waiting")
    lines = LogProgress(every_s=60)
    lines.begin("snapshot s", ["s"])
    for t, status in [
        (0, "creating 0%"),
        (10, "creating 0%"),
        (20, "creating 50%"),
        (90, "creating 50%"),
        (95, "creating 50%"),
    ]:
        name, pct = status.split()
        lines.update("s", Status(name, percent=int(pct[:-1])), t)
    logged = [r.getMessage() for r in caplog.records if r.name == "snapmigrate.waiting"]
    assert logged == [
        "waiting for snapshot s",
        "  s: creating 0% (0s)",
        "  s: creating 50% (20s)",
        "  s: creating 50% (1m30s)",
    ]


def test_the_waiter_drives_the_progress_sink():
    seen, sink = progress_log()
    waiter = Waiter(clock=FakeClock(), progress=sink)
    poll = sequence(
        {"s": Status("creating", percent=10)}, {"s": Status("available", done=True, percent=100)}
    )
    waiter.wait("snapshot s", poll, WaitPolicy(timeout_s=60), labels=("s",))
    assert seen == [("snapshot s", "begin"), ("s", "creating 10%"), ("s", "available 100%")]


def test_duration():
    assert [duration(s) for s in (5, 65, 3600 + 125)] == ["5s", "1m05s", "1h02m"]

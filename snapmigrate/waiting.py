"""The one waiting primitive: poll until every resource is done.

Snapshots and restores take hours on large clusters, instances tens of
minutes. :class:`Waiter` polls with capped exponential backoff and jitter,
gives up after a per-step timeout, shows progress (a tqdm bar per resource on
a terminal, a log line now and then otherwise, nothing with ``-q``), rides out
transient AWS errors (throttling, 5xx, dropped connections) and counts the API
calls each wait makes. Clock and sleep are passed in, so tests never sleep.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from snapmigrate.aws.call import ApiCallCounter
from snapmigrate.aws.errors import AWS_ERRORS, is_transient, translate
from snapmigrate.errors import ResourceFailed, WaitTimeout
from snapmigrate.progress import (
    LogProgress,
    NullProgress,
    Progress,
    Status,
    TqdmProgress,
    describe,
    duration,
    progress_for,
)

#: The display side lives in :mod:`snapmigrate.progress`; its names are reachable here too.
__all__ = [
    "HOUR",
    "Clock",
    "LogProgress",
    "NullProgress",
    "Poll",
    "Progress",
    "Status",
    "SystemClock",
    "TqdmProgress",
    "WaitPolicy",
    "WaitResult",
    "Waiter",
    "duration",
    "progress_for",
]

log = logging.getLogger(__name__)

HOUR = 3600.0


@dataclass(frozen=True)
class WaitPolicy:
    """How long and how often to poll: first delay doubling up to ``max_delay_s``."""

    timeout_s: float
    first_delay_s: float = 5.0
    max_delay_s: float = 60.0
    jitter: float = 0.25

    def __post_init__(self) -> None:
        if self.timeout_s <= 0 or self.first_delay_s <= 0 or self.max_delay_s < self.first_delay_s:
            raise ValueError(f"bad wait policy {self}")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter is a fraction in [0, 1)")


@dataclass(frozen=True)
class WaitResult:
    """What a wait took: time, polls, API calls, errors ridden out, final statuses."""

    what: str
    elapsed_s: float
    polls: int
    api_calls: int
    transient_errors: int
    final: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "elapsed_s": round(self.elapsed_s, 1),
            "polls": self.polls,
            "api_calls": self.api_calls,
            "transient_errors": self.transient_errors,
            "final": dict(self.final),
        }


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


# -- the waiter -----------------------------------------------------------------

Poll = Callable[[], Mapping[str, Status]]


class Waiter:
    """Polls until done, with backoff, a timeout, progress and transient-error tolerance."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        progress: Progress | None = None,
        counter: ApiCallCounter | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.clock = clock or SystemClock()
        self.progress = progress or NullProgress()
        self.counter = counter or ApiCallCounter()
        self.rng = rng or random.Random()

    def wait(
        self, what: str, poll: Poll, policy: WaitPolicy, *, labels: Sequence[str] = ()
    ) -> WaitResult:
        """Call ``poll`` until every resource it reports is done.

        Raises :class:`ResourceFailed` when a resource reaches a failed state,
        :class:`WaitTimeout` after ``policy.timeout_s``, and our translation of
        any AWS error that is not transient.
        """
        start = self.clock.monotonic()
        calls_before, transient_before = self.counter.count, self.counter.transient
        polls = errors = 0
        delay = policy.first_delay_s
        last: Mapping[str, Status] = {}
        self.progress.begin(what, labels)
        try:
            while True:
                polls += 1
                try:
                    seen = poll()
                except AWS_ERRORS as e:
                    if not is_transient(e):
                        raise translate(e, f"wait for {what}") from e
                    errors += 1
                    log.debug("transient error while waiting for %s (ridden out): %s", what, e)
                else:
                    last = seen
                    elapsed = self.clock.monotonic() - start
                    for label, status in seen.items():
                        self.progress.update(label, status, elapsed)
                    failed = [(label, s) for label, s in seen.items() if s.failed]
                    if failed:
                        label, status = failed[0]
                        raise ResourceFailed(f"{label} is {status.status}: {status.failed}")
                    if seen and all(s.done for s in seen.values()):
                        return WaitResult(
                            what=what,
                            elapsed_s=elapsed,
                            polls=polls,
                            api_calls=self.counter.count - calls_before,
                            transient_errors=errors + self.counter.transient - transient_before,
                            final={label: s.status for label, s in seen.items()},
                        )
                elapsed = self.clock.monotonic() - start
                if elapsed >= policy.timeout_s:
                    state = (
                        ", ".join(f"{label} {describe(s)}" for label, s in last.items())
                        or "no answer"
                    )
                    raise WaitTimeout(
                        f"{what} not done after {duration(elapsed)} (last seen: {state}); it may "
                        "still "
                        "finish in AWS: wait longer with --timeout-minutes"
                    )
                jittered = min(delay, policy.max_delay_s) * (1 - policy.jitter * self.rng.random())
                self.clock.sleep(max(0.0, min(jittered, policy.timeout_s - elapsed)))
                delay = min(delay * 2, policy.max_delay_s)
        finally:
            self.progress.end()

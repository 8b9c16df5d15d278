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
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

from snapmigrate.aws.call import ApiCallCounter
from snapmigrate.aws.errors import AWS_ERRORS, is_transient, translate
from snapmigrate.errors import OperationFailed, WaitTimeout

log = logging.getLogger(__name__)

HOUR = 3600.0


@dataclass(frozen=True)
class Status:
    """One resource as one poll saw it."""

    status: str
    done: bool = False
    failed: str | None = None
    percent: int | None = None


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


# -- progress -------------------------------------------------------------------


class Progress(Protocol):
    """Where a wait reports: one line per resource."""

    def begin(self, what: str, labels: Sequence[str]) -> None: ...

    def update(self, label: str, status: Status, elapsed_s: float) -> None: ...

    def end(self) -> None: ...


class NullProgress:
    """``-q``: say nothing."""

    def begin(self, what: str, labels: Sequence[str]) -> None:
        pass

    def update(self, label: str, status: Status, elapsed_s: float) -> None:
        pass

    def end(self) -> None:
        pass


def _describe(status: Status) -> str:
    return f"{status.status} {status.percent}%" if status.percent is not None else status.status


def duration(seconds: float) -> str:
    """``1h02m``, ``3m05s``, ``12s``."""
    s = int(seconds)
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


class LogProgress:
    """No terminal: a log line when a status changes, and every ``every_s`` otherwise."""

    def __init__(self, every_s: float = 60.0) -> None:
        self.every_s = every_s
        self._last: dict[str, tuple[str, float]] = {}

    def begin(self, what: str, labels: Sequence[str]) -> None:
        self._last = {}
        log.info("waiting for %s", what)

    def update(self, label: str, status: Status, elapsed_s: float) -> None:
        text = _describe(status)
        last = self._last.get(label)
        if last is None or last[0] != text or elapsed_s - last[1] >= self.every_s:
            log.info("  %s: %s (%s)", label, text, duration(elapsed_s))
            self._last[label] = (text, elapsed_s)

    def end(self) -> None:
        self._last = {}


class TqdmProgress:
    """A terminal: one tqdm bar per resource, driven by ``PercentProgress`` where AWS gives one."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self._bars: dict[str, Any] = {}

    def begin(self, what: str, labels: Sequence[str]) -> None:
        from tqdm import tqdm

        self._bars = {
            label: tqdm(
                total=100,
                desc=label,
                position=n,
                leave=True,
                file=self.stream,
                bar_format="{desc}: {percentage:3.0f}%|{bar:20}| {postfix} [{elapsed}]",
            )
            for n, label in enumerate(labels)
        }

    def update(self, label: str, status: Status, elapsed_s: float) -> None:
        bar = self._bars.get(label)
        if bar is None:
            return
        percent = status.percent if status.percent is not None else (100 if status.done else 0)
        bar.n = max(0, min(100, percent))
        bar.set_postfix_str(status.status, refresh=False)
        bar.refresh()

    def end(self) -> None:
        for bar in self._bars.values():
            bar.close()
        self._bars = {}


def progress_for(*, quiet: bool, stream: TextIO | None = None) -> Progress:
    """Nothing with ``-q``, bars on a terminal, log lines otherwise."""
    stream = stream or sys.stderr
    if quiet:
        return NullProgress()
    if stream.isatty():
        return TqdmProgress(stream)
    return LogProgress()


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

    def wait(self, what: str, poll: Poll, policy: WaitPolicy, *, labels: Sequence[str] = ()) -> WaitResult:
        """Call ``poll`` until every resource it reports is done.

        Raises :class:`OperationFailed` when a resource reaches a failed state,
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
                        raise OperationFailed(f"{label} is {status.status}: {status.failed}")
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
                    state = ", ".join(f"{label} {_describe(s)}" for label, s in last.items()) or "no answer"
                    raise WaitTimeout(
                        f"{what} not done after {duration(elapsed)} (last seen: {state}); it may still "
                        "finish in AWS: wait longer with --timeout-minutes"
                    )
                jittered = min(delay, policy.max_delay_s) * (1 - policy.jitter * self.rng.random())
                self.clock.sleep(max(0.0, min(jittered, policy.timeout_s - elapsed)))
                delay = min(delay * 2, policy.max_delay_s)
        finally:
            self.progress.end()

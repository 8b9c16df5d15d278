"""Where long waits show themselves: one line (or bar) per resource.

A tqdm bar per resource on a terminal, a log line now and then otherwise,
nothing with ``-q``. Kept apart from the waiter so that a command's CLI can
pick its display without importing the AWS layer.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol, TextIO

from snapmigrate.errors import BadInput

log = logging.getLogger("snapmigrate.waiting")


@dataclass(frozen=True)
class Status:
    """One resource as one poll saw it."""

    status: str
    done: bool = False
    failed: str | None = None
    percent: int | None = None


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


def describe(status: Status) -> str:
    return f"{status.status} {status.percent}%" if status.percent is not None else status.status


def duration(seconds: float) -> str:
    """``1h02m``, ``3m05s``, ``12s``."""
    s = int(seconds)
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


MAX_DURATION = timedelta(days=3650)
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(\d+)(ms|[smhd])")
ONE_SECOND = timedelta(seconds=1)


def parse_duration(text: str, flag: str = "--ttl", *, minimum: timedelta = ONE_SECOND) -> timedelta:
    """``500ms``, ``90s``, ``15m``, ``8h``, ``2d`` -> a timedelta of at least ``minimum``
    (one second unless the flag allows less: a heartbeat's ``--every 500ms``)."""
    found = _DURATION.fullmatch(text.strip().lower())
    if not found:
        raise BadInput(
            f"{flag} {text!r} is not a duration: a whole number and a unit, "
            "ms, s, m, h or d (e.g. 500ms, 90s, 15m, 8h, 2d)"
        )
    seconds = int(found.group(1)) * _UNITS[found.group(2)]
    if seconds < max(minimum.total_seconds(), 0.001):
        low = minimum.total_seconds()
        least = f"{low:g}s" if minimum >= ONE_SECOND else f"{max(low * 1000, 1):g}ms"
        raise BadInput(f"{flag} {text!r} is too short: at least {least}")
    if seconds > MAX_DURATION.total_seconds():
        raise BadInput(f"{flag} {text!r} is too long: at most 3650d")
    return timedelta(seconds=seconds)


class LogProgress:
    """No terminal: a log line when a status changes, and every ``every_s`` otherwise."""

    def __init__(self, every_s: float = 60.0) -> None:
        self.every_s = every_s
        self._last: dict[str, tuple[str, float]] = {}

    def begin(self, what: str, labels: Sequence[str]) -> None:
        self._last = {}
        log.info("waiting for %s", what)

    def update(self, label: str, status: Status, elapsed_s: float) -> None:
        text = describe(status)
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

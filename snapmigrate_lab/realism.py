"""Realism knobs: what moto never does and AWS always does.

Resources pass through ``creating`` / ``modifying`` / ``backing-up`` /
``renaming`` / ``upgrading`` / ``deleting`` for a number of describe polls or
seconds (with ``PercentProgress`` rising on snapshots); a fraction of calls is
throttled or answered with a 5xx; a named call fails once, or creates a
resource that ends in a failure state (``migration-failed``...); a renamed
cluster's new DNS names resolve only after a delay. Every random choice comes
from one seeded generator, so a run with the same seed sees the same faults.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from snapmigrate.errors import BadInput

#: The failure states AWS documents for clusters and instances: a resource in one
#: stays there (it can be deleted).
#: https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/accessing-monitoring.html
CLUSTER_FAILURES = frozenset({
    "migration-failed", "cloning-failed", "inaccessible-encryption-credentials",
    "inaccessible-encryption-credentials-recoverable", "incompatible-parameters",
    "incompatible-restore", "failed",
})  # fmt: skip
INSTANCE_FAILURES = frozenset({
    "failed", "inaccessible-encryption-credentials",
    "inaccessible-encryption-credentials-recoverable", "incompatible-create",
    "incompatible-network", "incompatible-option-group", "incompatible-parameters",
    "incompatible-restore",
    "insufficient-capacity", "restore-error", "storage-full",
})  # fmt: skip
#: The calls a ``state`` fail rule can end in a failure state, and the kind they create.
FAILING_CREATIONS = {
    "CreateDBCluster": "cluster",
    "RestoreDBClusterFromSnapshot": "cluster",
    "RestoreDBClusterToPointInTime": "cluster",
    "CreateDBInstance": "instance",
}


@dataclass(frozen=True)
class FailRule:
    """Make the next call of ``action`` fail with ``code`` (once, or ``times`` times).

    ``after=True`` lets the call take effect and loses its answer instead (an
    HTTP 5xx after the change), the case that makes retries meet their own work.
    ``state`` lets a creation succeed and its resource pass through ``creating``
    into that failure state, where it stays (no server is started for a cluster).
    """

    action: str
    code: str = "InternalFailure"
    message: str = "injected by the snapmigrate lab"
    status: int | None = None
    after: bool = False
    times: int = 1
    state: str | None = None

    def __post_init__(self) -> None:
        if not self.action or not self.action[0].isupper():
            raise BadInput(
                f"fail rule action {self.action!r} must be an API operation name "
                "such as CreateDBClusterSnapshot"
            )
        if self.times < 1:
            raise BadInput("fail rule times must be at least 1")
        if self.after and self.status is not None and self.status < 500:
            raise BadInput("a fail rule with after=true loses the answer: its status must be a 5xx")
        if self.state is not None:
            kind = FAILING_CREATIONS.get(self.action)
            if kind is None:
                raise BadInput(
                    f"a fail rule with a state takes one of {', '.join(FAILING_CREATIONS)}, "
                    f"not {self.action}"
                )
            allowed = CLUSTER_FAILURES if kind == "cluster" else INSTANCE_FAILURES
            if self.state not in allowed:
                raise BadInput(
                    f"{self.state!r} is no {kind} failure state: "
                    f"choose one of {', '.join(sorted(allowed))}"
                )
            if self.after:
                raise BadInput(
                    "a fail rule with a state lets the call act: "
                    "it cannot also lose the answer (after)"
                )


@dataclass(frozen=True)
class Knobs:
    """How unlike moto (and like AWS) the lab behaves. All off by default."""

    delay_polls: int = 0
    delay_seconds: float = 0.0
    throttle_rate: float = 0.0
    error_rate: float = 0.0
    seed: int | None = None
    fail: tuple[FailRule, ...] = ()
    rename_dns_delay_s: float = 0.0

    def __post_init__(self) -> None:
        if self.delay_polls < 0 or self.delay_seconds < 0:
            raise BadInput("delay_polls and delay_seconds must not be negative")
        if self.rename_dns_delay_s < 0:
            raise BadInput("rename_dns_delay_s must not be negative")
        for name in ("throttle_rate", "error_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise BadInput(f"{name} must be a fraction between 0 and 1, not {value}")
        if self.throttle_rate + self.error_rate > 1.0:
            raise BadInput("throttle_rate + error_rate must not exceed 1")

    @property
    def delays(self) -> bool:
        return self.delay_polls > 0 or self.delay_seconds > 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], base: Knobs | None = None) -> Knobs:
        """Knobs from JSON, unnamed ones kept from ``base``; unknown names are bad input."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise BadInput(
                f"unknown knob(s) {', '.join(sorted(unknown))}: "
                f"known are {', '.join(sorted(known))}"
            )
        values = dict(data)
        if "fail" in values:
            rules = values["fail"] or []
            try:
                values["fail"] = tuple(
                    r if isinstance(r, FailRule) else FailRule(**r) for r in rules
                )
            except TypeError as e:
                raise BadInput(f"bad fail rule: {e}") from None
        try:
            for name in ("delay_polls",):
                if name in values:
                    values[name] = int(values[name])
            for name in ("delay_seconds", "throttle_rate", "error_rate", "rename_dns_delay_s"):
                if name in values:
                    values[name] = float(values[name])
            if values.get("seed") is not None:
                values["seed"] = int(values["seed"])
        except (TypeError, ValueError) as e:
            raise BadInput(f"bad knob value: {e}") from None
        return replace(base or cls(), **values)


@dataclass(frozen=True)
class Fault:
    """An error to answer instead of (or after) a call."""

    code: str
    message: str
    status: int | None = None


@dataclass(frozen=True)
class Phase:
    """What a resource in transition shows: its status and, for snapshots, progress."""

    status: str
    percent: int


@dataclass
class _Transition:
    status: str
    started: float
    polls: int
    seconds: float
    seen: int = 0
    ghost: bytes | None = None
    final: str | None = None

    def over(self, now: float) -> bool:
        return self.seen >= self.polls and now - self.started >= self.seconds


Key = tuple[str, str, str]  # (kind, region, identifier)


@dataclass
class Realism:
    """The knobs in force, the faults they draw, the transitions they hold."""

    knobs: Knobs = field(default_factory=Knobs)
    clock: Callable[[], float] = time.monotonic
    _rng: random.Random = field(default_factory=random.Random, repr=False)
    _transitions: dict[Key, _Transition] = field(default_factory=dict, repr=False)
    #: Statuses shown while the lab works in the background (an upgrade), knobs or not.
    _held: dict[Key, str] = field(default_factory=dict, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def __post_init__(self) -> None:
        self.set(self.knobs)

    def set(self, knobs: Knobs) -> None:
        """Put ``knobs`` in force; a seed restarts the random sequence."""
        with self._lock:
            self.knobs = knobs
            if knobs.seed is not None:
                self._rng = random.Random(knobs.seed)

    def add_rule(self, rule: FailRule) -> None:
        with self._lock:
            self.knobs = replace(self.knobs, fail=(*self.knobs.fail, rule))

    # -- faults -------------------------------------------------------------

    def fault(self, action: str | None, *, after: bool, throttle_code: str) -> Fault | None:
        """The fault for this call, if any: a matching fail rule first, then chance."""
        with self._lock:
            rule = self._take(lambda r: r.action == action and r.after == after and r.state is None)
            if rule is not None:
                return Fault(rule.code, rule.message, rule.status)
            if after or not (self.knobs.throttle_rate or self.knobs.error_rate):
                return None
            draw = self._rng.random()
            if draw < self.knobs.throttle_rate:
                return Fault(throttle_code, "Rate exceeded")
            if draw < self.knobs.throttle_rate + self.knobs.error_rate:
                if self._rng.random() < 0.5:
                    return Fault(
                        "InternalFailure",
                        "We encountered an internal error. Please try again.",
                        500,
                    )
                return Fault("ServiceUnavailable", "Service is unavailable. Please try again.", 503)
            return None

    def failure_state(self, action: str | None) -> str | None:
        """The failure state a ``state`` fail rule gives this (successful) call, if any."""
        with self._lock:
            rule = self._take(lambda r: r.action == action and r.state is not None)
            return rule.state if rule is not None else None

    def _take(self, matches: Callable[[FailRule], bool]) -> FailRule | None:
        """The first fail rule that ``matches``, used up once."""
        for i, rule in enumerate(self.knobs.fail):
            if matches(rule):
                rest = list(self.knobs.fail)
                if rule.times > 1:
                    rest[i] = replace(rule, times=rule.times - 1)
                else:
                    del rest[i]
                self.knobs = replace(self.knobs, fail=tuple(rest))
                return rule
        return None

    # -- transitions --------------------------------------------------------

    def begin(
        self, kind: str, region: str, ident: str, status: str, *, ghost: bytes | None = None
    ) -> bool:
        """Hold ``ident`` in ``status`` for the configured polls/seconds (no-op when
        delays are off)."""
        with self._lock:
            if not self.knobs.delays:
                return False
            self._transitions[(kind, region, ident)] = _Transition(
                status=status,
                started=self.clock(),
                polls=self.knobs.delay_polls,
                seconds=self.knobs.delay_seconds,
                ghost=ghost,
            )
            return True

    def fail(self, kind: str, region: str, ident: str, state: str) -> None:
        """``ident`` shows ``creating`` (at least one poll, and the configured delays),
        then ``state`` for good."""
        with self._lock:
            self._transitions[(kind, region, ident)] = _Transition(
                status="creating",
                started=self.clock(),
                polls=max(1, self.knobs.delay_polls),
                seconds=self.knobs.delay_seconds,
                final=state,
            )

    def hold(self, kind: str, region: str, ident: str, status: str | None) -> None:
        """Show ``status`` for ``ident`` until held again with None (the lab's own
        background work, such as an upgrade, whatever the knobs)."""
        with self._lock:
            if status is None:
                self._held.pop((kind, region, ident), None)
            else:
                self._held[(kind, region, ident)] = status

    def phase(self, kind: str, region: str, ident: str, *, poll: bool) -> Phase | None:
        """The transitional phase ``ident`` shows now; ``poll`` counts this look as a
        describe poll."""
        with self._lock:
            held = self._held.get((kind, region, ident))
            if held is not None:
                return Phase(held, 0)
            t = self._transitions.get((kind, region, ident))
            if t is None:
                return None
            elapsed = self.clock() - t.started
            if t.over(self.clock()):
                if t.final is not None:
                    return Phase(t.final, 100)
                del self._transitions[(kind, region, ident)]
                return None
            fractions = []
            if t.polls:
                fractions.append(min(t.seen, t.polls) / t.polls)
            if t.seconds:
                fractions.append(min(elapsed, t.seconds) / t.seconds)
            percent = min(99, int(100 * min(fractions))) if fractions else 0
            if poll:
                t.seen += 1
            return Phase(t.status, percent)

    def busy(self, kind: str, region: str, ident: str) -> str | None:
        """The transitional status of ``ident`` (without counting a poll), or None."""
        phase = self.phase(kind, region, ident, poll=False)
        return phase.status if phase else None

    def ghosts(self, kind: str, region: str) -> dict[str, bytes]:
        """Deleted resources still shown as ``deleting`` (not counting a poll):
        identifier -> XML."""
        with self._lock:
            found = {}
            for (k, r, ident), t in list(self._transitions.items()):
                if k != kind or r != region or t.ghost is None:
                    continue
                if t.over(self.clock()):
                    del self._transitions[(k, r, ident)]
                    continue
                found[ident] = t.ghost
            return found

    def rename(self, kind: str, region: str, old: str, new: str) -> None:
        with self._lock:
            t = self._transitions.pop((kind, region, old), None)
            if t is not None:
                self._transitions[(kind, region, new)] = t
            held = self._held.pop((kind, region, old), None)
            if held is not None:
                self._held[(kind, region, new)] = held

    def forget(self, kind: str, region: str, ident: str) -> None:
        with self._lock:
            self._transitions.pop((kind, region, ident), None)
            self._held.pop((kind, region, ident), None)

    def clear(self) -> None:
        with self._lock:
            self._transitions.clear()
            self._held.clear()

"""What a step gets to work with, and what it hands back.

:class:`StepContext` carries the run (its id, its plan, what the journal knew),
the AWS clients, the waiter and the run settings; every AWS call a step makes
goes through :meth:`StepContext.call`, which retries transient errors with
jittered backoff on the injected clock. :class:`Outcome` is a step's result.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from snapmigrate.aws import retrying
from snapmigrate.model import TAG_ROLE, TAG_RUN_ID, Plan
from snapmigrate.waiting import HOUR, Waiter, WaitPolicy, WaitResult

if TYPE_CHECKING:
    from snapmigrate.aws import Clients
    from snapmigrate.journal import RunRecord

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Per-step wait limits sized for real AWS: a snapshot or a restore of a few
#: TB takes hours; an instance, tens of minutes.
DEFAULT_TIMEOUTS: dict[str, float] = {
    "snapshot": 8 * HOUR,
    "restore": 8 * HOUR,
    "upgrade": 4 * HOUR,
    "instances": 2 * HOUR,
    "settings": 1 * HOUR,
    "verify": 4 * HOUR,
    "probe": 0.25 * HOUR,
    "cleanup": 2 * HOUR,
}


@dataclass(frozen=True)
class RunSettings:
    """How a run behaves: the SQL probe, wait limits, retries, the connect map."""

    connect: bool = True
    timeouts: Mapping[str, float] = field(default_factory=dict)
    connect_map: str | None = None
    attempts: int = 8
    first_delay_s: float = 5.0
    max_delay_s: float = 60.0
    #: ``--freeze-before-snapshot``: the source is frozen before the snapshot and stays so.
    freeze_before_snapshot: bool = False

    def timeout(self, name: str) -> float:
        return float(self.timeouts.get(name, DEFAULT_TIMEOUTS.get(name, 2 * HOUR)))

    def policy(self, name: str, *, max_delay_s: float | None = None) -> WaitPolicy:
        return WaitPolicy(
            timeout_s=self.timeout(name),
            first_delay_s=self.first_delay_s,
            max_delay_s=max(self.first_delay_s, max_delay_s or self.max_delay_s),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "connect": self.connect,
            "timeouts": dict(self.timeouts),
            "connect_map": self.connect_map,
            "freeze_before_snapshot": self.freeze_before_snapshot,
        }


@dataclass(frozen=True)
class Outcome:
    """A step's result: one line for humans, the AWS ids, details, its waits."""

    summary: str
    resources: Mapping[str, str] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)
    waits: tuple[WaitResult, ...] = ()
    state: str = "done"  # done | skipped


class Freezer:
    """Extension point for ``migrate --freeze-before-snapshot`` (the cutover issue).

    When the runner is given one, the snapshot step calls :meth:`freeze` just
    before requesting the snapshot and :meth:`thaw` once it is requested.
    """

    def freeze(self, ctx: StepContext) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def thaw(self, ctx: StepContext) -> None:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass
class StepContext:
    """Everything a step's ``apply``/``is_done``/``undo`` may use."""

    clients: Clients
    run_id: str
    plan: Plan
    waiter: Waiter
    settings: RunSettings
    record: RunRecord | None = None
    note: Callable[[str, Mapping[str, str], Mapping[str, Any]], None] = lambda step, resources, details: None
    freezer: Freezer | None = None

    def rds(self) -> Any:
        client = self.clients.rds()
        self.waiter.counter.attach(client)
        return client

    def call(self, action: str, fn: Callable[..., T], **params: Any) -> T:
        """``fn(**params)``, transient AWS errors retried with backoff (and counted), others translated."""
        from snapmigrate.aws import is_transient

        def attempt() -> T:
            try:
                return fn(**params)
            except Exception as e:
                if is_transient(e):
                    self.waiter.counter.transient += 1
                raise

        return retrying(
            attempt,
            action=action,
            attempts=self.settings.attempts,
            base=1.0,
            cap=30.0,
            sleep=self.waiter.clock.sleep,
        )

    def wait(self, step: str, what: str, poll: Callable[[], Mapping[str, Any]], *, labels: tuple[str, ...] = (), max_delay_s: float | None = None) -> WaitResult:
        return self.waiter.wait(what, poll, self.settings.policy(step, max_delay_s=max_delay_s), labels=labels)

    def tags(self, role: str) -> list[dict[str, str]]:
        """The plan's tags plus the run's: ``snapmigrate:run-id`` and ``snapmigrate:role``."""
        tags = {**self.plan.target.tags, TAG_RUN_ID: self.run_id, TAG_ROLE: role}
        return [{"Key": k, "Value": v} for k, v in tags.items()]

    def previous(self, step: str) -> Mapping[str, Any]:
        """What the journal recorded for ``step`` (resources and details), if anything."""
        if self.record is None:
            return {}
        try:
            rec = self.record.step(step)
        except KeyError:
            return {}
        return {**rec.details, **rec.resources}

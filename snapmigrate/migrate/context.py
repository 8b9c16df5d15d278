"""What a migration step gets to work with: :class:`MigrateContext`.

It carries the run (its id, its plan, what the journal knows so far), the AWS
call path, the waiter and the run settings. A step records the AWS ids (and
details) it learns at once with :meth:`MigrateContext.note`, so a crash right
after a create still leaves them in the journal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from snapmigrate.aws import Aws
from snapmigrate.model import TAG_ROLE, TAG_RUN_ID, Plan, SourceCluster, TargetSpec
from snapmigrate.records import Record
from snapmigrate.waiting import HOUR, Poll, Waiter, WaitPolicy, WaitResult
from snapmigrate.workflow.journal import RunRecord, StepDetails

D = TypeVar("D", bound=StepDetails)

#: Per-step wait limits sized for real AWS: a snapshot or a restore of a few
#: TB takes hours; an instance, tens of minutes.
DEFAULT_TIMEOUTS: dict[str, float] = {
    "prepare-source": 1 * HOUR,
    "publication": 1 * HOUR,
    "snapshot": 8 * HOUR,
    "restore": 8 * HOUR,
    "upgrade": 4 * HOUR,
    "instances": 2 * HOUR,
    "settings": 1 * HOUR,
    "subscription": 8 * HOUR,  # the WAL written since the snapshot, applied
    "verify": 4 * HOUR,
    "probe": 0.25 * HOUR,
    "cleanup": 2 * HOUR,
    # the in-place path's own steps
    "safety-snapshot": 8 * HOUR,
    "convert": 2 * HOUR,
    "scaling": 1 * HOUR,
    "add-serverless-reader": 2 * HOUR,
    "failover": 1 * HOUR,
    "add-reader": 2 * HOUR,
    "remove-provisioned": 2 * HOUR,
}


@dataclass(frozen=True)
class Basis:
    """What migration steps are planned from: the preflight's target and the source."""

    spec: TargetSpec
    source: SourceCluster


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
    #: ``cleanup --skip-final-snapshot``: delete the target without a final snapshot.
    skip_final_snapshot: bool = False
    #: ``migrate --path in-place --max-write-outage``: stop before the next disruptive
    #: step once a measured write outage was longer (seconds).
    max_write_outage_s: float | None = None

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
            "max_write_outage_s": self.max_write_outage_s,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunSettings:
        """The settings a run was started with (its journal keeps them)."""
        known = (
            "connect",
            "timeouts",
            "connect_map",
            "freeze_before_snapshot",
            "max_write_outage_s",
        )
        return cls(**{k: data[k] for k in known if k in data})


class Freezer(Protocol):
    """``migrate --freeze-before-snapshot``: the snapshot step calls :meth:`freeze`
    just before requesting the snapshot and :meth:`thaw` once it is requested."""

    def freeze(self, ctx: MigrateContext) -> None: ...

    def thaw(self, ctx: MigrateContext) -> None: ...


#: ``note(step, resources, details)``: journal what a step learnt, at once.
Note = Callable[[str, Mapping[str, str], Record | None], None]


def _no_note(step: str, resources: Mapping[str, str], details: Record | None) -> None:
    """Without a journal (a probe before any run), there is nothing to note."""


@dataclass
class MigrateContext:
    """Everything a migration step's ``is_done``/``apply``/``undo`` may use."""

    aws: Aws
    run_id: str
    plan: Plan
    waiter: Waiter
    settings: RunSettings
    record: RunRecord | None = None
    note: Note = _no_note
    freezer: Freezer | None = None

    def wait(
        self,
        step: str,
        what: str,
        poll: Poll,
        *,
        labels: tuple[str, ...] = (),
        max_delay_s: float | None = None,
    ) -> WaitResult:
        """Poll until done, within ``step``'s wait limit."""
        policy = self.settings.policy(step, max_delay_s=max_delay_s)
        return self.waiter.wait(what, poll, policy, labels=labels)

    def tags(self, role: str) -> list[dict[str, str]]:
        """The plan's tags plus the run's: ``snapmigrate:run-id`` and ``snapmigrate:role``."""
        tags = {**self.plan.target.tags, TAG_RUN_ID: self.run_id, TAG_ROLE: role}
        return [{"Key": k, "Value": v} for k, v in tags.items()]

    def details(self, kind: type[D]) -> D:
        """What the journal holds so far for the step ``kind`` belongs to."""
        return kind.of(self.record)

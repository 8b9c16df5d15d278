"""What a clone's steps work with: :class:`CloneContext` -- the AWS call path,
the waiter, the clone's spec, its masking plan and secrets, the milestones."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from snapmigrate.aws import Aws, rds
from snapmigrate.clone.spec import CloneSpec
from snapmigrate.connectmap import ConnectMap
from snapmigrate.db.connect import Endpoint, from_cluster
from snapmigrate.db.mask import Keys, TablePlan
from snapmigrate.db.stats import WriteCounters
from snapmigrate.progress import NullProgress, Progress, Status
from snapmigrate.records import Record
from snapmigrate.waiting import HOUR, Poll, Waiter, WaitPolicy, WaitResult

if TYPE_CHECKING:
    from snapmigrate.workflow.journal import RunRecord

MILESTONES = ("accepted", "cluster_available", "instances_available", "first_query", "masked")


@dataclass(frozen=True)
class CloneSettings:
    """How a clone is made: the SQL path, waits, masking batches."""

    connect: bool = True
    connect_map: str | None = None
    timeout_s: float = 8 * HOUR
    first_delay_s: float = 2.0
    max_delay_s: float = 30.0
    batch_rows: int = 10000
    verify_jobs: int = 2

    def policy(self, max_delay_s: float | None = None) -> WaitPolicy:
        return WaitPolicy(
            timeout_s=self.timeout_s,
            first_delay_s=self.first_delay_s,
            max_delay_s=max(self.first_delay_s, max_delay_s or self.max_delay_s),
        )


@dataclass(frozen=True)
class MaskPlan:
    """The checked rules, per database (no secret here: those are in ``CloneContext.keys``)."""

    digest: str
    summary: str
    databases: Mapping[str, Sequence[TablePlan]]

    def leave_out(self) -> dict[tuple[str, str, str], tuple[str, ...] | None]:
        """What the verifier must not compare: masked columns, emptied tables (and theirs)."""
        found: dict[tuple[str, str, str], tuple[str, ...] | None] = {}
        for database, tables in self.databases.items():
            for t in tables:
                if t.empty:
                    found[(database, t.schema, t.name)] = None
                    for below in t.descendants:
                        schema, _, name = below.partition(".")
                        found[(database, schema, name)] = None
                else:
                    found[(database, t.schema, t.name)] = tuple(r.column for r in t.rules)
        return found


@dataclass(frozen=True)
class CloneBasis:
    """What the clone's steps are planned from: its spec and, when masked, the rules' plan."""

    spec: CloneSpec
    mask: MaskPlan | None = None


def _no_note(step: str, resources: Mapping[str, str], details: Record | None) -> None:
    """Without a journal there is nothing to note."""


@dataclass
class CloneContext:
    """Everything a clone step's ``is_done``/``apply``/``undo`` may use."""

    aws: Aws
    spec: CloneSpec
    waiter: Waiter
    settings: CloneSettings
    mask: MaskPlan | None = None
    keys: Keys = field(default_factory=Keys)
    progress: Progress = field(default_factory=NullProgress)
    #: The source's write counters just before and after the restore request (drift).
    counters: tuple[WriteCounters | None, WriteCounters | None] = (None, None)
    database_names: tuple[str, ...] = ()
    started: float | None = None
    marks: dict[str, float] = field(default_factory=dict)
    # The journal's section sets these two (as it does on a migration's context).
    record: RunRecord | None = None
    note: Callable[[str, Mapping[str, str], Record | None], None] = _no_note

    def connect_map(self) -> ConnectMap:
        return ConnectMap.load(self.settings.connect_map)

    def endpoint(self, cluster_id: str, label: str) -> Endpoint:
        return from_cluster(self.aws, cluster_id, label)

    def wait(
        self, what: str, poll: Poll, labels: tuple[str, ...], max_delay_s: float | None = None
    ) -> WaitResult:
        return self.waiter.wait(what, poll, self.settings.policy(max_delay_s), labels=labels)

    def begin_clock(self) -> None:
        """The restore is about to be requested: the milestones count from here."""
        self.started = self.waiter.clock.monotonic()

    def mark(self, milestone: str) -> float:
        """Seconds since the restore request at ``milestone`` (kept for the timings)."""
        if self.started is None:
            self.begin_clock()
        assert self.started is not None
        self.marks[milestone] = self.waiter.clock.monotonic() - self.started
        return self.marks[milestone]

    def cluster(self) -> rds.Resource | None:
        return rds.find_cluster(self.aws, self.spec.name)

    def wait_cluster(self, what: str) -> WaitResult:
        name = self.spec.name
        return self.wait(
            f"{what} {name}",
            lambda: {name: rds.cluster_status(rds.find_cluster(self.aws, name))},
            (name,),
        )

    def gone(self, name: str) -> Status:
        found = rds.find_cluster(self.aws, name)
        return Status("deleted", done=True) if found is None else Status(found.get("Status", "?"))

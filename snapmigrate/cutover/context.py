"""What a cutover step gets to work with: :class:`CutoverContext`.

The run, its options, the AWS call path, the source's and the target's
endpoints where they are now (a rename moves them), the waiter, the deadline
after the freeze, and the cutover's journal section (:class:`CutoverState`),
saved at every change.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from snapmigrate.aws import Aws, rds
from snapmigrate.connectmap import ConnectMap
from snapmigrate.cutover.state import CutoverOptions, CutoverState
from snapmigrate.db.connect import Endpoint, from_cluster
from snapmigrate.errors import BadInput, WaitTimeout
from snapmigrate.migrate.locate import TARGET_ROLE, locate, old_name
from snapmigrate.model import Plan
from snapmigrate.waiting import Poll, Waiter, WaitPolicy, WaitResult
from snapmigrate.workflow.journal import Journal, RunRecord

__all__ = ["TARGET_ROLE", "CutoverContext", "endpoints", "locate", "old_name"]


def endpoints(aws: Aws, plan: Plan, run_id: str) -> tuple[Endpoint, Endpoint]:
    """The source's and the target's endpoints where they are now."""
    source_id, target_id = locate(aws, plan, run_id)
    if target_id is None:
        raise BadInput(
            f"the target cluster of run {run_id} ({plan.target.identifier}) no longer exists"
        )
    if source_id is None:
        raise BadInput(
            f"the source cluster of run {run_id} ({plan.source.identifier}) no longer exists"
        )
    return from_cluster(aws, source_id, "source"), from_cluster(aws, target_id, "target")


@dataclass
class CutoverContext:
    """Everything a cutover step's ``is_done``/``apply``/``undo`` may use."""

    aws: Aws
    journal: Journal
    record: RunRecord
    plan: Plan
    options: CutoverOptions
    waiter: Waiter
    connect_map: ConnectMap
    source: Endpoint
    target: Endpoint
    say: Callable[[str], None] = field(default=lambda _msg: None)
    deadline: float | None = None
    clock: Callable[[], float] = field(default=time.monotonic)

    @property
    def run_id(self) -> str:
        return self.record.run_id

    @property
    def state(self) -> CutoverState:
        return CutoverState.of(self.record.cutover)

    def save(self, state: CutoverState) -> None:
        """Make ``state`` the cutover's journal section, saved atomically."""
        self.record = replace(self.record, cutover=state.to_dict())
        self.journal.save(self.record)

    def relocate(self) -> None:
        """Find the source and the target again (after a rename)."""
        self.source, self.target = endpoints(self.aws, self.plan, self.run_id)

    def cluster(self, identifier: str) -> rds.Resource | None:
        return rds.find_cluster(self.aws, identifier)

    def is_target(self, cluster: rds.Resource | None) -> bool:
        """Whether ``cluster`` is this run's target (by its tags, never by its name)."""
        return rds.is_ours(cluster, self.run_id, TARGET_ROLE)

    def phase_done(self, name: str) -> bool:
        """Whether the journal says phase ``name`` finished (for phases that leave
        nothing to look at in AWS)."""
        entry = self.state.phase(name)
        return entry is not None and entry.state == "done"

    def remaining(self, cap: float | None = None) -> float:
        """Seconds left before the cutover's deadline (a timeout rolls it back)."""
        if self.deadline is None:
            return cap if cap is not None else self.options.limit_s
        left = self.deadline - self.clock()
        if left <= 0:
            raise WaitTimeout(
                f"the cutover took longer than its --timeout of {self.options.limit_s:.0f} s "
                "after the freeze"
            )
        return min(left, cap) if cap is not None else left

    def wait(self, what: str, poll: Poll, *, cap: float | None = None) -> WaitResult:
        """Poll fast (cutovers are short), within the deadline."""
        policy = WaitPolicy(timeout_s=self.remaining(cap), first_delay_s=0.5, max_delay_s=5.0)
        return self.waiter.wait(what, poll, policy)

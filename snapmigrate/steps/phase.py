"""What a cutover phase gets to work with: the run, its options, the clients,
the endpoints, the waiter, and the cutover's journal section.

The cutover's state lives in the run's journal (``RunRecord.cutover``), saved
after every change, so a crash anywhere leaves enough to resume or roll back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from snapmigrate.model import Plan
from snapmigrate.waiting import Status, Waiter, WaitPolicy, WaitResult

if TYPE_CHECKING:
    from snapmigrate.aws import Clients
    from snapmigrate.connectmap import ConnectMap
    from snapmigrate.db.connect import Endpoint
    from snapmigrate.journal import Journal, RunRecord

MODES = ("dns", "rename")


def stamp() -> str:
    """Now, to the millisecond (cutover timings are short)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


@dataclass(frozen=True)
class CutoverOptions:
    """How to cut over (``snapmigrate cutover`` options, or the plan's)."""

    mode: str
    zone_id: str | None = None
    record_name: str | None = None
    reader_record_name: str | None = None
    set_identifier: str | None = None
    verify_mode: str = "checksum"
    accept_drift: bool = False
    postpone_flag: str | None = None
    timeout_s: float = 600.0
    long_transaction_s: float = 60.0
    prove_timeout_s: float = 120.0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CutoverOptions:
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class CutoverContext:
    """Everything a phase's ``apply``/``is_done``/``undo`` may use."""

    clients: Clients
    journal: Journal
    record: RunRecord
    plan: Plan
    options: CutoverOptions
    waiter: Waiter
    connect_map: ConnectMap | None
    source: Endpoint
    target: Endpoint
    say: Callable[[str], None] = field(default=lambda _msg: None)
    deadline: float | None = None
    clock: Callable[[], float] = field(default=time.monotonic)

    @property
    def run_id(self) -> str:
        return self.record.run_id

    @property
    def state(self) -> Mapping[str, Any]:
        return self.record.cutover

    def update(self, **changes: Any) -> None:
        """Merge ``changes`` into the cutover's journal section and save it (atomically)."""
        self.record = replace(self.record, cutover={**self.record.cutover, **changes})
        self.journal.save(self.record)

    def remaining(self, cap: float | None = None) -> float:
        """Seconds left before the cutover's deadline (a timeout rolls it back)."""
        from snapmigrate.errors import WaitTimeout

        if self.deadline is None:
            return cap if cap is not None else self.options.timeout_s
        left = self.deadline - self.clock()
        if left <= 0:
            raise WaitTimeout(f"the cutover took longer than its --timeout of {self.options.timeout_s:.0f} s after the freeze")
        return min(left, cap) if cap is not None else left

    def wait(self, what: str, poll: Callable[[], Mapping[str, Status]], *, cap: float | None = None) -> WaitResult:
        """Poll fast (cutovers are short), within the deadline."""
        policy = WaitPolicy(timeout_s=self.remaining(cap), first_delay_s=0.5, max_delay_s=5.0)
        return self.waiter.wait(what, poll, policy)

    def cluster(self, identifier: str) -> dict[str, Any] | None:
        from snapmigrate.discover import describe_cluster

        return describe_cluster(self.clients, identifier)

"""The cutover's section of the run's journal, as typed records.

The journal keeps it as JSON under ``cutover``; this module is the one place
that reads and writes it (:meth:`CutoverState.of`, :meth:`CutoverState.to_dict`).
It is saved after every change, so a crash anywhere leaves enough to resume
or roll back. Fields the cutover has not reached yet stay out of the JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Self

from snapmigrate.aws.route53 import Record as DnsRecord
from snapmigrate.db.freeze import FreezeRecord
from snapmigrate.db.probe import ServerIdentity
from snapmigrate.db.stats import WriteCounters
from snapmigrate.model import QualifiedTable
from snapmigrate.records import Record, Sparse

#: Cutover states after which a new ``cutover`` resumes the same attempt.
UNFINISHED = ("running", "interrupted", "failed")
#: ``--timeout`` (seconds after the freeze before rolling back) when the mode adds nothing.
DEFAULT_TIMEOUT_S = 600.0


def stamp() -> str:
    """Now, to the millisecond (cutover timings are short)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


@dataclass(frozen=True)
class CutoverOptions(Record):
    """How to cut over (``snapmigrate cutover`` options, or the plan's); ``mode=""``
    means not given."""

    mode: str
    zone_id: str | None = None
    record_name: str | None = None
    reader_record_name: str | None = None
    set_identifier: str | None = None
    verify_mode: str = "checksum"
    accept_drift: bool = False
    postpone_flag: str | None = None
    #: Seconds after the freeze before rolling back; None: the mode's default.
    timeout_s: float | None = None
    long_transaction_s: float = 60.0
    #: How long the name clients use may take to reach the target; None: the mode's default.
    prove_timeout_s: float | None = None

    @property
    def limit_s(self) -> float:
        """``timeout_s`` as resolved (:func:`snapmigrate.cutover.options.resolve_options`)."""
        return self.timeout_s if self.timeout_s is not None else DEFAULT_TIMEOUT_S


@dataclass(frozen=True)
class PhaseRecord(Sparse):
    """One phase of the cutover as journaled (a step of the cutover workflow)."""

    always = frozenset({"state", "started", "finished", "outcome"})

    name: str
    state: str | None = None
    started: str | None = None
    finished: str | None = None
    outcome: str | None = None
    attempts: int = 0
    took_s: float | None = None


@dataclass(frozen=True)
class Guardrail(Record):
    """One check before anything changes; ``warn``: it passes, but read it."""

    name: str
    passed: bool
    message: str
    warn: bool = False


@dataclass(frozen=True)
class Identities(Sparse):
    """Who answers through the target's (and, before the freeze, the source's) endpoint."""

    target: ServerIdentity | None = None
    source: ServerIdentity | None = None


@dataclass(frozen=True)
class DnsRecords(Sparse):
    """The records a DNS cutover swaps, as they were before it (journaled first)."""

    writer: DnsRecord
    reader: DnsRecord | None = None

    def items(self) -> tuple[tuple[str, DnsRecord], ...]:
        """(role, record) for each record swapped."""
        pairs = (("writer", self.writer), ("reader", self.reader))
        return tuple((role, rec) for role, rec in pairs if rec is not None)


@dataclass(frozen=True)
class Drift(Sparse):
    """What the catch-up check found: tables written on the source since the snapshot."""

    checked: bool = False
    reason: str | None = None
    tables: tuple[str, ...] | None = None
    stale: tuple[str, ...] | None = None
    accepted: bool | None = None


@dataclass(frozen=True)
class FinalVerification(Record):
    """The verification of the frozen source against the target."""

    equal: bool
    mode: str
    line: str
    tables: int
    differing: int
    elapsed_s: float
    passed: bool


@dataclass(frozen=True)
class TableWrites(Record):
    """Row changes on the target since the cutover (counted by ``rollback``)."""

    table: str
    inserted: int
    updated: int
    deleted: int

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.deleted


@dataclass(frozen=True)
class Prepared(Record):
    """``cutover --prepare``: the record whose TTL was lowered, to what, when."""

    record: DnsRecord
    ttl: int
    at: str


@dataclass(frozen=True)
class Attempt(Record):
    """An earlier cutover attempt of the run, kept once it was rolled back."""

    mode: str | None = None
    state: str | None = None
    started: str | None = None
    finished: str | None = None
    error: str | None = None
    unavailable_s: float | None = None


@dataclass(frozen=True)
class CatchUp(Sparse):
    """The catch-up's part of a cutover: the verification before the freeze (the
    write counters taken just before it, the tables that differed then), where
    the copy had to catch up to inside the freeze, the sequences set, the
    tables verified again, and what its end dropped."""

    baseline_at: str | None = None
    source_counters: WriteCounters | None = None
    target_counters: WriteCounters | None = None
    differing: tuple[QualifiedTable, ...] | None = None
    lag_bytes: int | None = None
    drained_to: str | None = None
    drain_s: float | None = None
    sequences: int | None = None
    verified: tuple[QualifiedTable, ...] | None = None
    ended: tuple[str, ...] | None = None


@dataclass(frozen=True)
class CutoverState(Sparse):
    """The whole cutover section: options, phases, what was changed, the result."""

    always = frozenset({"error", "target_counters"})

    mode: str | None = None
    options: CutoverOptions | None = None
    state: str | None = None
    started: str | None = None
    finished: str | None = None
    error: str | None = None
    phases: tuple[PhaseRecord, ...] | None = None
    history: tuple[Attempt, ...] | None = None
    guardrails: tuple[Guardrail, ...] | None = None
    source_endpoint: str | None = None
    source_reader_endpoint: str | None = None
    source_port: int | None = None
    identity: Identities | None = None
    freeze: FreezeRecord | None = None
    frozen_at: str | None = None
    freeze_adopted: bool | None = None
    dns: DnsRecords | None = None
    drift: Drift | None = None
    verification: FinalVerification | None = None
    writable_at: str | None = None
    unavailable_s: float | None = None
    target_counters: WriteCounters | None = None
    rolled_back_at: str | None = None
    rollback: tuple[str, ...] | None = None
    writes_since_cutover: tuple[TableWrites, ...] | None = None
    prepared: Prepared | None = None
    catch_up: CatchUp | None = None

    @classmethod
    def of(cls, section: Mapping[str, Any] | None) -> Self:
        """The state from the journal's ``cutover`` section (empty: no cutover yet)."""
        return cls.from_dict(section or {})

    @property
    def unfinished(self) -> bool:
        return self.state in UNFINISHED

    @property
    def live(self) -> bool:
        """The target serves the clients: cut over, and not rolled back."""
        return self.state == "done"

    @property
    def under_way(self) -> bool:
        """A cutover stopped after it froze the source or began the swap: the clients may
        be on either cluster until it is finished or rolled back."""
        return self.unfinished and (self.freeze is not None or self.phase("swap") is not None)

    def phase(self, name: str) -> PhaseRecord | None:
        return next((p for p in self.phases or () if p.name == name), None)

    def with_phase(self, entry: PhaseRecord) -> CutoverState:
        """This state with ``entry`` replacing (or appended as) the phase of its name."""
        phases = list(self.phases or ())
        at = next((n for n, p in enumerate(phases) if p.name == entry.name), None)
        if at is None:
            phases.append(entry)
        else:
            phases[at] = entry
        return replace(self, phases=tuple(phases))

    def attempt(self) -> Attempt:
        return Attempt(
            self.mode, self.state, self.started, self.finished, self.error, self.unavailable_s
        )

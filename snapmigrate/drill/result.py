"""What a drill returns and keeps as evidence: :class:`DrillResult`, whose JSON
keys are the contract of issue 15 (docs/drill.md), with ``caller``,
``tool_version`` and ``injected`` added under ``drill``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from snapmigrate.errors import EXIT_DIFFERENCES, EXIT_OK


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


@dataclass(frozen=True)
class Phase:
    """One phase of the drill, with wall-clock timestamps (UTC, ISO 8601)."""

    name: str
    started: str
    finished: str
    took_s: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "started": self.started,
            "finished": self.finished,
            "took_s": _r(self.took_s),
        }


@dataclass(frozen=True)
class Check:
    """One check: passed or not, and what it found."""

    name: str
    passed: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "detail": self.detail}


@dataclass(frozen=True)
class TornDown:
    """One resource the teardown handled: deleted, kept (``--keep``), or left (failed)."""

    kind: str
    id: str
    action: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "id": self.id, "action": self.action}


@dataclass(frozen=True)
class Targets:
    rpo_s: float | None = None
    rto_s: float | None = None
    met: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"rpo_s": self.rpo_s, "rto_s": self.rto_s, "met": self.met}


@dataclass(frozen=True)
class DrillResult:
    """A finished drill (a failed one too, when it got as far as t0)."""

    id: str
    source: str
    choice: str
    recovery_point: str
    region: str
    cluster: str
    t0: str
    rto_s: float | None
    rpo_metadata_s: float | None
    rpo_data_s: float | None
    phases: tuple[Phase, ...]
    checks: tuple[Check, ...]
    targets: Targets
    teardown_done: bool
    resources: tuple[TornDown, ...]
    caller: str | None = None
    tool_version: str = ""
    injected: str | None = None
    error: str | None = None
    #: ``--report FILE`` (kept for a resumed drill too); not part of the JSON.
    report_path: str | None = None

    @property
    def passed(self) -> bool:
        return (
            self.error is None
            and self.rto_s is not None
            and all(c.passed for c in self.checks)
            and self.targets.met
        )

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.passed else EXIT_DIFFERENCES

    def failed_checks(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.checks if not c.passed)

    def to_dict(self) -> dict[str, Any]:
        found = {
            "drill": {
                "id": self.id,
                "source": self.source,
                "from": self.choice,
                "recovery_point": self.recovery_point,
                "region": self.region,
                "cluster": self.cluster,
                "caller": self.caller,
                "tool_version": self.tool_version,
                "injected": self.injected,
            },
            "t0": self.t0,
            "rto_s": _r(self.rto_s),
            "rpo_s": {"metadata": _r(self.rpo_metadata_s), "data": _r(self.rpo_data_s)},
            "phases": [p.to_dict() for p in self.phases],
            "checks": [c.to_dict() for c in self.checks],
            "targets": self.targets.to_dict(),
            "teardown": {
                "done": self.teardown_done,
                "resources": [r.to_dict() for r in self.resources],
            },
            "passed": self.passed,
        }
        if self.error is not None:
            found["error"] = self.error
        return found

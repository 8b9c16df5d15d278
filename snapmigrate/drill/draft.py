"""What a drill measures as it goes: :class:`Clock` (t0, the phases, wall and
monotonic time) and :class:`Draft` (RTO, RPOs, checks so far), made into a
:class:`~snapmigrate.drill.result.DrillResult` at the end -- a failed drill's too."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from snapmigrate import __version__
from snapmigrate.db.stats import WriteCounters
from snapmigrate.drill.options import DrillOptions
from snapmigrate.drill.recovery import RecoveryPoint
from snapmigrate.drill.result import Check, DrillResult, Phase, Targets, TornDown
from snapmigrate.waiting import Clock as Monotonic


def iso_ms(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds")


@dataclass
class Clock:
    """t0 and the phases: wall time (ISO) and the monotonic seconds since t0."""

    monotonic: Monotonic
    now: Callable[[], datetime]
    t0_wall: datetime | None = None
    t0_mono: float = 0.0
    phases: list[Phase] = field(default_factory=list)

    def mono(self) -> float:
        return self.monotonic.monotonic()

    def start(self) -> None:
        self.t0_wall, self.t0_mono = self.now(), self.mono()

    def restart(self, t0_wall: datetime) -> None:
        """After a crash: t0 as it was, the monotonic clock aligned to the wall clock."""
        self.t0_wall = t0_wall
        self.t0_mono = self.mono() - (self.now() - t0_wall).total_seconds()

    def since_t0(self) -> float:
        return self.mono() - self.t0_mono

    def wall(self, since_t0: float) -> str:
        assert self.t0_wall is not None
        return iso_ms(self.t0_wall + timedelta(seconds=since_t0))

    def phase(self, name: str, began: float, ended: float | None = None) -> None:
        end = self.since_t0() if ended is None else ended
        self.phases.append(Phase(name, self.wall(began), self.wall(end), end - began))


@dataclass
class Draft:
    """What a drill has measured so far."""

    id: str
    options: DrillOptions
    point: RecoveryPoint
    cluster: str
    clock: Clock
    caller: str
    region: str
    rto_s: float | None = None
    rpo_data_s: float | None = None
    baseline: WriteCounters | None = None
    beat_check: Check | None = None
    checks: tuple[Check, ...] = ()
    injected: str | None = None

    def measured(self) -> dict[str, Any]:
        """What the drill measured before its teardown (kept for a resume from there)."""
        return {
            "rto_s": self.rto_s,
            "rpo_data_s": self.rpo_data_s,
            "injected": self.injected,
            "checks": [c.to_dict() for c in self.checks],
            "phases": [p.to_dict() for p in self.clock.phases],
        }

    def restore(self, measured: Mapping[str, Any]) -> None:
        """:meth:`measured` back, the phase lost to the crash kept at the end."""
        lost = [p for p in self.clock.phases if p.name == "interrupted"]
        self.rto_s = measured.get("rto_s")
        self.rpo_data_s = measured.get("rpo_data_s")
        self.injected = measured.get("injected")
        self.checks = tuple(Check(**c) for c in measured.get("checks") or ())
        self.clock.phases = [Phase(**p) for p in measured.get("phases") or ()] + lost

    def result(self, torn: tuple[TornDown, ...], *, error: str | None = None) -> DrillResult:
        t0 = self.clock.t0_wall
        assert t0 is not None
        rpo = (t0 - self.point.time).total_seconds()
        opts = self.options
        rpo_target = opts.rpo_target.total_seconds() if opts.rpo_target else None
        rto_target = opts.rto_target.total_seconds() if opts.rto_target else None
        worst_rpo = max(x for x in (rpo, self.rpo_data_s) if x is not None)
        met = (rpo_target is None or worst_rpo <= rpo_target) and (
            rto_target is None or (self.rto_s is not None and self.rto_s <= rto_target)
        )
        return DrillResult(
            id=self.id,
            source=opts.source,
            choice=str(opts.recovery),
            recovery_point=self.point.describe(),
            region=self.region,
            cluster=self.cluster,
            t0=iso_ms(t0),
            rto_s=self.rto_s,
            rpo_metadata_s=rpo,
            rpo_data_s=self.rpo_data_s,
            phases=tuple(self.clock.phases),
            checks=self.checks,
            targets=Targets(rpo_target, rto_target, met),
            teardown_done=all(not r.action.startswith("left") for r in torn),
            resources=torn,
            caller=self.caller or None,
            tool_version=__version__,
            injected=self.injected,
            error=error,
            report_path=opts.report,
        )

"""``snapmigrate lab demo``: the whole story on a laptop, as an ordered list of stages.

Each stage is a name and a function of the shared :class:`DemoContext`
returning a one-line summary. Migrate, verify and cutover stages slot in
between ``plan`` and ``down`` as they land (``STAGES.insert(...)``); ``down``
always runs, so a failed demo leaves nothing behind.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from snapmigrate.errors import SnapmigrateError
from snapmigrate.lab import Lab

TARGET = "legacy-v2"


@dataclass
class DemoContext:
    """What the stages share: the lab, the options, what earlier stages produced."""

    lab: Lab
    scale: int = 2
    keep: bool = False
    target: str = TARGET
    show: Callable[[str], None] = print
    progress: Callable[[str], None] = print
    details: dict[str, Any] = field(default_factory=dict)
    source: str = ""


@dataclass(frozen=True)
class Stage:
    """One step of the demo; ``always`` stages run even after a failure."""

    name: str
    run: Callable[[DemoContext], str]
    always: bool = False


@dataclass(frozen=True)
class StageResult:
    name: str
    ok: bool
    summary: str
    elapsed_s: float


@dataclass(frozen=True)
class DemoResult:
    """How the demo went, stage by stage."""

    dir: str
    stages: tuple[StageResult, ...]
    elapsed_s: float
    details: dict[str, Any] = field(default_factory=dict)
    error: SnapmigrateError | None = field(default=None, compare=False)

    @property
    def ok(self) -> bool:
        return self.error is None and all(s.ok for s in self.stages)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dir": self.dir,
            "ok": self.ok,
            "elapsed_s": self.elapsed_s,
            "stages": [s.__dict__ for s in self.stages],
            "error": str(self.error) if self.error else None,
            **self.details,
        }


def stage_up(ctx: DemoContext) -> str:
    st = ctx.lab.up()
    return f"AWS API on {st.endpoint_url}, lab directory {st.dir}"


def stage_seed(ctx: DemoContext) -> str:
    result = ctx.lab.seed("v1", scale=ctx.scale)
    ctx.source = result.cluster_id
    ctx.details["seed"] = result.to_dict()
    rows = sum(result.tables.values())
    return (
        f"Aurora Serverless v1 cluster {result.cluster_id} (aurora-postgresql {result.engine_version}), "
        f"{len(result.tables)} tables, {rows:,} rows in database {result.database}; "
        f"DNS {result.dns_record} -> writer endpoint"
    )


def stage_plan(ctx: DemoContext) -> str:
    from snapmigrate.planner import make_plan
    from snapmigrate.preflight import PlanOptions
    from snapmigrate.report import plan as plan_report

    seed = ctx.details.get("seed", {})
    options = PlanOptions(
        target=ctx.target,
        readers=1,
        cutover="dns",
        dns_zone_id=seed.get("dns_zone_id"),
        dns_name=seed.get("dns_record"),
    )
    plan = make_plan(ctx.lab.clients(), ctx.source, options)
    ctx.details["plan"] = plan.to_dict()
    ctx.show(plan_report.table(plan))
    warns = sum(f.level == "warn" for f in plan.findings)
    blocks = sum(f.level == "block" for f in plan.findings)
    state = "blocked" if plan.blocked else "ready"
    return f"{ctx.source} -> {ctx.target}: {len(plan.steps)} steps, {warns} warning(s), {blocks} blocking; {state}"


def stage_down(ctx: DemoContext) -> str:
    if ctx.keep:
        return f"lab left running in {ctx.lab.dir} (--keep): stop it with 'snapmigrate lab down --dir {ctx.lab.dir}'"
    result = ctx.lab.down()
    return f"stopped the lab and removed {result.dir}"


#: The demo, in order. Migrate / verify / cutover stages go before "down".
STAGES: list[Stage] = [
    Stage("up", stage_up),
    Stage("seed", stage_seed),
    Stage("plan", stage_plan),
    Stage("down", stage_down, always=True),
]


def run_demo(ctx: DemoContext, stages: Sequence[Stage] | None = None) -> DemoResult:
    """Run the stages in order; after a failure only ``always`` stages run."""
    started = time.monotonic()
    results: list[StageResult] = []
    error: SnapmigrateError | None = None
    for stage in stages if stages is not None else STAGES:
        if error is not None and not stage.always:
            continue
        ctx.progress(f"[{stage.name}] ...")
        t0 = time.monotonic()
        try:
            summary = stage.run(ctx)
            ok = True
        except SnapmigrateError as e:
            error = error or e
            summary, ok = str(e), False
        except KeyboardInterrupt:
            from snapmigrate.errors import Interrupted

            error = Interrupted("interrupted by the user")
            summary, ok = "interrupted", False
        results.append(StageResult(stage.name, ok, summary, round(time.monotonic() - t0, 2)))
        ctx.progress(f"[{stage.name}] {'done' if ok else 'FAILED'} in {results[-1].elapsed_s:.1f} s: {summary}")
    return DemoResult(
        dir=str(ctx.lab.dir),
        stages=tuple(results),
        elapsed_s=round(time.monotonic() - started, 2),
        details=dict(ctx.details),
        error=error,
    )

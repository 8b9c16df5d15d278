"""How a lab demo runs: an ordered list of stages over one shared context.

A :class:`Stage` is a name, a title and a function of the :class:`DemoContext`
returning a one-line summary. :func:`run_stages` runs a list of them in order,
prints each as it starts and ends, and after a failure runs only the
``always`` stages (``down``), so a failed demo leaves nothing behind; the
:class:`DemoResult` carries the exit code of the first failing stage. The
scenarios' stages are in :mod:`snapmigrate_lab.demo` and
:mod:`snapmigrate_lab.demo_catchup`.

While the stages run, the process environment is stripped of AWS, libpq, proxy
and snapmigrate variables (a user's ``AWS_PROFILE``, ``PGPASSWORD`` or
``HTTPS_PROXY`` cannot leak in); the stages point it at the lab once it is up.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snapmigrate.errors import Interrupted, OperationFailed, SnapmigrateError

if TYPE_CHECKING:
    from snapmigrate.db.verify import VerifyResult
    from snapmigrate.migrate.runner import RunResult
    from snapmigrate.model import Plan
    from snapmigrate.waiting import Progress
    from snapmigrate_lab import Lab
    from snapmigrate_lab.seed import SeedResult

log = logging.getLogger(__name__)

TARGET = "legacy-v2"
STATE_SUBDIR = "state"

#: Variables that would point boto3, botocore or libpq somewhere else than the lab.
LEAKY_PREFIXES = ("AWS_", "PG", "SNAPMIGRATE_")
PROXY_VARIABLES = frozenset({"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"})
#: The lab's own settings: where the lab keeps its servers is the user's choice.
LAB_SETTINGS = frozenset(
    {"SNAPMIGRATE_LAB_RUNTIME", "SNAPMIGRATE_LAB_PG_CACHE", "SNAPMIGRATE_LAB_REQUIRE_MAJORS"}
)


class StageSkipped(Exception):
    """Raised by a stage that had nothing to do (e.g. no run to cut over); the demo goes on."""


@dataclass(frozen=True)
class InstanceInfo:
    """One instance of the target cluster as AWS describes it."""

    identifier: str
    instance_class: str
    role: str
    status: str


@dataclass(frozen=True)
class Created:
    """What the migration left in the lab's AWS, read back before the lab goes down."""

    cluster: str
    status: str
    engine_version: str
    engine_mode: str
    scaling: str
    instances: tuple[InstanceInfo, ...] = ()
    snapshot: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "instances": [i.__dict__ for i in self.instances]}


@dataclass
class DemoContext:
    """What the stages share: the lab, the options, what earlier stages produced."""

    lab: Lab
    scale: int = 2
    keep: bool = False
    target: str = TARGET
    show: Callable[[str], None] = print
    progress: Callable[[str], None] = print
    wait_progress: Progress | None = None
    verbose: bool = False
    environ: MutableMapping[str, str] = field(default_factory=lambda: os.environ)
    details: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    started_lab: bool = False
    seed: SeedResult | None = None
    plan: Plan | None = None
    run: RunResult | None = None
    verification: VerifyResult | None = None
    created: Created | None = None
    #: An application writing through the seeded DNS record, from before the
    #: migration to after the cutover (the zero-loss runbook).
    load: Any = None

    @property
    def state_dir(self) -> Path:
        """The migration's journals: inside the lab directory, gone with it."""
        return self.lab.dir / STATE_SUBDIR


@dataclass(frozen=True)
class Stage:
    """One step of the demo; ``always`` stages run even after a failure."""

    name: str
    title: str
    run: Callable[[DemoContext], str]
    always: bool = False


@dataclass(frozen=True)
class StageResult:
    """How one stage went: ``done``, ``skipped`` (nothing to do), ``failed`` or ``not run``."""

    name: str
    state: str
    summary: str
    elapsed_s: float

    @property
    def ok(self) -> bool:
        return self.state in ("done", "skipped")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self.state,
            "ok": self.ok,
            "summary": self.summary,
            "elapsed_s": self.elapsed_s,
        }


@dataclass(frozen=True)
class DemoResult:
    """How the demo went, stage by stage, and what it made."""

    dir: str
    stages: tuple[StageResult, ...]
    elapsed_s: float
    kept: bool = False
    state_dir: str = ""
    source: str = ""
    target: str = TARGET
    run: RunResult | None = None
    verification: VerifyResult | None = None
    created: Created | None = None
    #: An application writing through the seeded DNS record, from before the
    #: migration to after the cutover (the zero-loss runbook).
    load: Any = None
    details: dict[str, Any] = field(default_factory=dict)
    error: SnapmigrateError | None = field(default=None, compare=False)

    @property
    def ok(self) -> bool:
        return self.error is None and all(s.ok for s in self.stages)

    @property
    def run_id(self) -> str | None:
        return self.run.run_id if self.run else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "dir": self.dir,
            "ok": self.ok,
            "elapsed_s": self.elapsed_s,
            "stages": [s.to_dict() for s in self.stages],
            "error": str(self.error) if self.error else None,
            "exit_code": self.error.exit_code if self.error else 0,
            "kept": self.kept,
            "state_dir": self.state_dir,
            "source": self.source,
            "target": self.target,
            "run_id": self.run_id,
            "run": self.run.to_dict() if self.run else None,
            "verify": self.verification.to_dict() if self.verification else None,
            "created": self.created.to_dict() if self.created else None,
            **self.details,
        }


def run_stages(ctx: DemoContext, stages: Sequence[Stage]) -> DemoResult:
    """Run the stages in order, isolated from the user's AWS and libpq settings;
    after a failure only ``always`` stages run (the others are reported ``not run``)."""
    todo = list(stages)
    started = time.monotonic()
    results: list[StageResult] = []
    error: SnapmigrateError | None = None
    with isolated_environment(ctx.environ):
        for n, stage in enumerate(todo, 1):
            if error is not None and not stage.always:
                stopped_at = next(r.name for r in results if r.state == "failed")
                results.append(
                    StageResult(stage.name, "not run", f"the demo stopped at {stopped_at}", 0.0)
                )
                continue
            ctx.progress(f"\n==> [{n}/{len(todo)}] {stage.name}: {stage.title}")
            t0 = time.monotonic()
            try:
                summary, state = stage.run(ctx), "done"
            except StageSkipped as e:
                summary, state = str(e), "skipped"
            except SnapmigrateError as e:
                error = error or e
                summary, state = str(e), "failed"
            except KeyboardInterrupt:
                error = error or Interrupted(f"demo interrupted in stage {stage.name}")
                summary, state = "interrupted", "failed"
            except Exception as e:  # a bug must not leave servers running
                log.debug("stage %s crashed", stage.name, exc_info=True)
                error = error or OperationFailed(
                    f"stage {stage.name} crashed: {type(e).__name__}: {e}"
                )
                summary, state = f"crashed: {type(e).__name__}: {e}", "failed"
            results.append(StageResult(stage.name, state, summary, round(time.monotonic() - t0, 2)))
            mark = {"done": "done", "skipped": "SKIPPED", "failed": "FAILED"}[state]
            ctx.progress(f"    {mark} in {results[-1].elapsed_s:.1f} s: {summary}")
    return DemoResult(
        dir=str(ctx.lab.dir),
        stages=tuple(results),
        elapsed_s=round(time.monotonic() - started, 2),
        kept=ctx.keep and ctx.started_lab,
        state_dir=str(ctx.state_dir),
        source=ctx.source,
        target=ctx.target,
        run=ctx.run,
        verification=ctx.verification,
        created=ctx.created,
        details=dict(ctx.details),
        error=error,
    )


@contextlib.contextmanager
def isolated_environment(environ: MutableMapping[str, str]) -> Iterator[None]:
    """Within: no AWS, libpq, proxy or snapmigrate variable of the user's, and no
    AWS config files; afterwards the environment is as it was."""
    saved = dict(environ)
    for key in list(environ):
        if (
            key.startswith(LEAKY_PREFIXES) and key not in LAB_SETTINGS
        ) or key.upper() in PROXY_VARIABLES:
            del environ[key]
    environ["AWS_CONFIG_FILE"] = os.devnull
    environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    try:
        yield
    finally:
        for key in [k for k in environ if k not in saved]:
            del environ[key]
        environ.update(saved)

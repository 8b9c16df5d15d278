"""A run's journal: one JSON file per run id in the state directory.

The journal is a cache of what AWS says (the tags are the truth): it records
each step's state, times, the AWS ids it created, its waits and its outcome,
so ``status`` can show a run and ``migrate --resume`` can continue it. Every
write is atomic (temp file, fsync, rename); a lock file keeps two processes
from applying the same run at once. No secret is ever written here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import re
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Self

from snapmigrate.errors import BadInput, NotFound
from snapmigrate.files import atomic_write_json
from snapmigrate.records import Sparse

log = logging.getLogger(__name__)

STATE_ENV = "SNAPMIGRATE_STATE_DIR"
DEFAULT_STATE_DIR = ".snapmigrate"
JOURNAL_FORMAT = 1
RUN_ID_PATTERN = re.compile(r"^[0-9a-f]{8}$")

#: pending -> running -> done | skipped | failed | interrupted
STEP_STATES = ("pending", "running", "done", "skipped", "failed", "interrupted")
#: running -> done | failed | interrupted; cleaned once ``cleanup`` removed what it created
RUN_STATES = ("running", "done", "failed", "interrupted", "cleaned")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_run_id() -> str:
    """Eight lowercase hex characters: short enough for resource names, random enough."""
    return secrets.token_hex(4)


def check_run_id(run_id: str) -> str:
    if not RUN_ID_PATTERN.match(run_id):
        raise BadInput(
            f"run id {run_id!r} is invalid: it is 8 lowercase hex characters (see 'snapmigrate "
            "status')"
        )
    return run_id


@dataclass(frozen=True)
class StepRecord:
    """One step of a run as the journal knows it."""

    name: str
    state: str = "pending"
    started: str | None = None
    finished: str | None = None
    attempts: int = 0
    outcome: str | None = None
    resources: Mapping[str, str] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)
    waits: tuple[Mapping[str, Any], ...] = ()
    api_calls: int = 0
    transient_errors: int = 0
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["waits"] = [dict(w) for w in self.waits]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepRecord:
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["waits"] = tuple(values.get("waits", ()))
        return cls(**values)


@dataclass(frozen=True)
class RunRecord:
    """A whole run: the plan it applies and where each step stands."""

    run_id: str
    state: str
    source: str
    target: str
    created: str
    updated: str
    steps: tuple[StepRecord, ...]
    plan: Mapping[str, Any] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    events: tuple[Mapping[str, str], ...] = ()
    #: The cutover of this run (its phases, what it changed, its report), once started.
    cutover: Mapping[str, Any] = field(default_factory=dict)

    def step(self, name: str) -> StepRecord:
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(name)

    def with_step(self, record: StepRecord) -> RunRecord:
        steps = tuple(record if s.name == record.name else s for s in self.steps)
        return replace(self, steps=steps, updated=now())

    def with_event(self, message: str) -> RunRecord:
        return replace(
            self, events=(*self.events, {"at": now(), "message": message}), updated=now()
        )

    @property
    def current(self) -> StepRecord | None:
        """The step the run stopped in (or is in), if any."""
        for s in self.steps:
            if s.state in ("running", "failed", "interrupted"):
                return s
        return next((s for s in self.steps if s.state == "pending"), None)

    @property
    def api_calls(self) -> int:
        return sum(s.api_calls for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": JOURNAL_FORMAT,
            "run_id": self.run_id,
            "state": self.state,
            "source": self.source,
            "target": self.target,
            "created": self.created,
            "updated": self.updated,
            "error": self.error,
            "api_calls": self.api_calls,
            "steps": [s.to_dict() for s in self.steps],
            "events": [dict(e) for e in self.events],
            "settings": dict(self.settings),
            "plan": dict(self.plan),
            "cutover": dict(self.cutover),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunRecord:
        return cls(
            run_id=data["run_id"],
            state=data["state"],
            source=data["source"],
            target=data["target"],
            created=data["created"],
            updated=data["updated"],
            steps=tuple(StepRecord.from_dict(s) for s in data.get("steps", ())),
            plan=data.get("plan", {}),
            settings=data.get("settings", {}),
            error=data.get("error"),
            events=tuple(data.get("events", ())),
            cutover=data.get("cutover") or {},
        )


@dataclass(frozen=True)
class StepDetails(Sparse):
    """Base of what one step journals besides its state (every field has a
    default): the step writes it in its :class:`Outcome`, readers get it typed
    with :meth:`of` -- no other module reads a step's details by string key.
    Fields not known yet stay out of the JSON (``always`` lists those kept)."""

    step: ClassVar[str] = ""

    @classmethod
    def of(cls, record: RunRecord | None) -> Self:
        """This step's details as ``record`` holds them (defaults when it holds none)."""
        if record is None:
            return cls()
        try:
            found = record.step(cls.step)
        except KeyError:
            return cls()
        return cls.from_dict(found.details)


def state_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """``--state-dir``, else ``$SNAPMIGRATE_STATE_DIR``, else ``./.snapmigrate``."""
    return Path(path or os.environ.get(STATE_ENV) or DEFAULT_STATE_DIR)


class Journal:
    """The runs kept in one state directory."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = state_dir(directory)

    def path(self, run_id: str) -> Path:
        return self.directory / f"{check_run_id(run_id)}.json"

    def exists(self, run_id: str) -> bool:
        return self.path(run_id).exists()

    def load(self, run_id: str) -> RunRecord:
        path = self.path(run_id)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NotFound(
                f"no run {run_id} in {self.directory}: check the id with 'snapmigrate status' "
                "(and --state-dir / $SNAPMIGRATE_STATE_DIR)"
            ) from None
        except (OSError, ValueError) as e:
            raise BadInput(f"the journal {path} cannot be read ({e}): fix or move it") from None
        try:
            return RunRecord.from_dict(data)
        except (KeyError, TypeError) as e:
            raise BadInput(
                f"the journal {path} is not a snapmigrate journal (missing {e})"
            ) from None

    def save(self, record: RunRecord) -> None:
        atomic_write_json(self.path(record.run_id), record.to_dict(), mode=0o600)

    def runs(self) -> list[RunRecord]:
        """Every readable run, newest first (unreadable files are skipped with a warning)."""
        found = []
        if not self.directory.is_dir():
            return []
        for path in self.directory.glob("*.json"):
            if not RUN_ID_PATTERN.match(path.stem):
                continue
            try:
                found.append(self.load(path.stem))
            except BadInput as e:
                log.warning("skipping %s: %s", path, e)
        return sorted(found, key=lambda r: (r.created, r.run_id), reverse=True)

    @contextlib.contextmanager
    def lock(self, run_id: str) -> Iterator[None]:
        """Hold the run's lock: a second process applying the same run is refused."""
        self.directory.mkdir(parents=True, exist_ok=True)
        lock_path = self.directory / f"{check_run_id(run_id)}.lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
                raise BadInput(
                    f"run {run_id} is being applied by pid {holder}: wait for it, or stop it first"
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            yield
        finally:
            os.close(fd)

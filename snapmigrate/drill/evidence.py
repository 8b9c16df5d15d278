"""Where drills leave their evidence: ``<state-dir>/drills/evidence.jsonl``, one
JSON line per drill (appended, never rewritten), read back by ``drill history``;
and ``<state-dir>/drills/<id>.json``, the drill's own record while it runs (its
copy's name, so that a drill killed mid-way is torn down by ``--resume``)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from snapmigrate.errors import BadInput, NotFound
from snapmigrate.files import atomic_write_json
from snapmigrate.workflow.journal import Journal, check_run_id, state_dir

log = logging.getLogger(__name__)

EVIDENCE = "evidence.jsonl"


def drills_dir(directory: str | os.PathLike[str] | None) -> Path:
    return Path(state_dir(directory)) / "drills"


def append(directory: str | os.PathLike[str] | None, result: Mapping[str, Any]) -> Path:
    """One line more in the evidence file (created 0600 with its directory)."""
    path = drills_dir(directory) / EVIDENCE
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as f:
        f.write(json.dumps(result, sort_keys=True) + "\n")
    return path


def read_all(
    directory: str | os.PathLike[str] | None, source: str | None = None
) -> list[dict[str, Any]]:
    """Every drill in the evidence file, oldest first (``source``: of that source only);
    an unreadable line is skipped with a warning."""
    path = drills_dir(directory) / EVIDENCE
    if not path.is_file():
        return []
    found = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            drill = item["drill"]
        except (ValueError, KeyError, TypeError):
            log.warning("%s line %d is not a drill's evidence: skipped", path, n)
            continue
        if source is None or drill.get("source") == source:
            found.append(item)
    return found


@contextlib.contextmanager
def locked(directory: str | os.PathLike[str] | None, drill_id: str) -> Iterator[None]:
    """One process at a time drives a drill (a second ``--resume`` is refused, exit 2)."""
    with Journal(drills_dir(directory)).lock(drill_id):
        yield


def save_record(directory: str | os.PathLike[str] | None, record: Mapping[str, Any]) -> None:
    """The running drill's record (``id``, ``cluster``, ``state``, ...), replaced atomically."""
    path = drills_dir(directory) / f"{check_run_id(str(record['id']))}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, dict(record), mode=0o600)


def load_record(directory: str | os.PathLike[str] | None, drill_id: str) -> dict[str, Any]:
    path = drills_dir(directory) / f"{check_run_id(drill_id)}.json"
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise NotFound(
            f"no drill {drill_id} in {path.parent}: check the id (and --state-dir)"
        ) from None
    except (OSError, ValueError) as e:
        raise BadInput(f"the drill record {path} cannot be read ({e}): fix or move it") from None

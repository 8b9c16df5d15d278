"""Atomic file writes: the journal, the connect map and lab.json are never seen half-written."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from snapmigrate.errors import BadInput


def atomic_write_text(path: str | os.PathLike[str], text: str, *, mode: int = 0o644) -> None:
    """Write ``text`` to ``path`` via a temp file in the same directory, fsync, rename."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def atomic_write_json(path: str | os.PathLike[str], data: Any, *, mode: int = 0o644) -> None:
    atomic_write_text(
        path, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n", mode=mode
    )


def read_json(path: str | os.PathLike[str], what: str, *, missing_hint: str = "") -> Any:
    """The JSON in ``path``, or a one-line BadInput naming ``what`` it should have been."""
    p = Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(
            f"{what} {p} does not exist" + (f": {missing_hint}" if missing_hint else "")
        ) from None
    except (OSError, ValueError) as e:
        raise BadInput(f"{what} {p} is not readable JSON ({e})") from None

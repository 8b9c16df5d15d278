"""``snapmigrate lab load``: the write load of :mod:`snapmigrate.loadgen` aimed
through the lab -- its DNS record, connect map and pgpass -- so a cutover can be
rehearsed under writes, and its committed ids kept in a file so that afterwards
:func:`check` can prove none was lost on the cluster the name reaches then.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from snapmigrate.errors import EXIT_DIFFERENCES, EXIT_OK, BadInput, OperationFailed
from snapmigrate.loadgen import TABLE, LoadOptions, LoadResult, LossCheck

if TYPE_CHECKING:
    from snapmigrate.connectmap import ConnectMap
    from snapmigrate.db.connect import Endpoint
    from snapmigrate.loadgen import LoadRun
    from snapmigrate_lab import Lab

DEFAULT_DATABASE = "app"


@dataclass(frozen=True)
class LoadTarget:
    """Where the load writes: a name of the lab's connect map, a database, a table."""

    endpoint: Endpoint
    database: str
    table: str
    connect_map: ConnectMap

    def dials(self) -> str:
        """Where the name leads right now (the connect map is re-read on every connect)."""
        host, port = self.connect_map.reload().resolve(self.endpoint.host, self.endpoint.port)
        return f"{host}:{port}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.endpoint.host,
            "port": self.endpoint.port,
            "database": self.database,
            "user": self.endpoint.user,
            "table": self.table,
        }


def target(
    lab: Lab,
    *,
    name: str | None = None,
    port: int = 5432,
    database: str | None = None,
    user: str | None = None,
    table: str = TABLE,
) -> LoadTarget:
    """The load's target in ``lab``: by default the seeded DNS record, database and master
    user; the password comes from the lab's pgpass. ``name`` must be in the lab's connect map."""
    from snapmigrate.connectmap import ConnectMap
    from snapmigrate.db.connect import Endpoint

    state = lab._running_state()
    seed = state.notes.get("seed") or {}
    dns = state.notes.get("dns") or {}
    where = f"the lab in {lab.dir}"
    if name is None:
        name = dns.get("record")
        if not name:
            raise BadInput(
                f"{where} has no seeded DNS record: "
                "give --name (an endpoint or record of its connect map)"
            )
    name = name.strip().rstrip(".").lower()
    if user is None:
        user = seed.get("user")
        if not user:
            raise BadInput(
                f"{where} has no seeded cluster: give --user (the database user to write as)"
            )
    if not table or len(table) > 63:
        raise BadInput(f"--table {table!r}: give a table name of 1 to 63 characters")
    connect_map = ConnectMap.load(lab.connect_map_path)
    if f"{name}:{port}" not in connect_map.routes and name not in connect_map.routes:
        # The seeded record first, then other DNS records: they are what applications use.
        seeded = f"{dns.get('record')}:{port}"
        known = sorted(
            connect_map.routes, key=lambda key: (key != seeded, ".rds.amazonaws.com" in key, key)
        )
        shown = ", ".join(known[:8]) + (f" (and {len(known) - 8} more)" if len(known) > 8 else "")
        raise BadInput(
            f"{name}:{port} is not an endpoint or record of {where}: "
            f"use one of {shown or 'none (no cluster yet)'}"
        )
    endpoint = Endpoint(
        label="load", host=name, port=port, user=user, options=(("passfile", str(lab.pgpass_path)),)
    )
    return LoadTarget(
        endpoint=endpoint,
        database=database or seed.get("database") or DEFAULT_DATABASE,
        table=table,
        connect_map=connect_map,
    )


@dataclass(frozen=True)
class LoadReport:
    """What one ``lab load`` saw, and how it ended (``duration``, ``interrupted``, ``stopped``)."""

    target: LoadTarget
    options: LoadOptions
    result: LoadResult
    stopped_by: str
    ids_file: str | None = None
    window_offsets_s: tuple[float, ...] = ()

    @property
    def rate(self) -> float:
        return (
            len(self.result.committed) / self.result.elapsed_s if self.result.elapsed_s > 0 else 0.0
        )

    def to_dict(self) -> dict[str, Any]:
        data = {
            **self.target.to_dict(),
            "workers": self.options.workers,
            "rate_per_worker": self.options.rate_per_worker,
            "duration_s": self.options.duration_s,
            "stopped_by": self.stopped_by,
            "ids_file": self.ids_file,
            **self.result.to_dict(),
            "commits_per_s": round(self.rate, 1),
        }
        data["windows"] = [
            {**w, "at_s": round(at, 3)}
            for w, at in zip(data["windows"], self.window_offsets_s, strict=False)
        ]
        return data


class _IdsWriter:
    """Appends committed ids to the ids file as they come, so a crash keeps what was seen."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.written = 0
        self._file: IO[str] | None = None
        if path is not None:
            # Refuse before any change (and without truncating an earlier file yet).
            parent = path.parent if str(path.parent) else Path(".")
            if (
                path.is_dir()
                or not parent.is_dir()
                or not os.access(parent, os.W_OK)
                or (path.exists() and not os.access(path, os.W_OK))
            ):
                raise BadInput(
                    f"cannot write the ids file {path}: "
                    "give a writable file path (its directory must exist)"
                )

    def open(self) -> None:
        if self.path is not None:
            try:
                self._file = self.path.open("w", encoding="ascii")
            except OSError as e:
                raise BadInput(
                    f"cannot write the ids file {self.path}: {e.strerror or e}"
                ) from None

    def flush(self, committed: list[int]) -> None:
        if self._file is None:
            return
        upto = len(committed)
        self._file.write("".join(f"{ident}\n" for ident in committed[self.written : upto]))
        self._file.flush()
        self.written = upto

    def close(self, committed: list[int]) -> None:
        self.flush(committed)
        if self._file is not None:
            self._file.close()
            self._file = None


def run(
    load: LoadTarget,
    options: LoadOptions,
    *,
    ids_file: str | Path | None = None,
    stop: threading.Event | None = None,
    progress: Callable[[str], None] | None = None,
    every_s: float = 5.0,
    clock: Callable[[], float] = time.monotonic,
) -> LoadReport:
    """Create the table if missing, write until ``options.duration_s``, ``stop`` or
    Ctrl-C, and report; every committed id goes to ``ids_file`` (one per line) as it commits."""
    from snapmigrate.loadgen import LoadRun

    options = replace(options, table=load.table)  # the target names the table
    writer = _IdsWriter(Path(ids_file) if ids_file else None)
    _ensure_table(load)
    writer.open()
    loadrun = LoadRun(
        load.endpoint, load.database, options, connect_map=load.connect_map, clock=clock
    )
    stop = stop or threading.Event()
    started = clock()
    loadrun.start()
    try:
        stopped_by = _drive(
            loadrun,
            load,
            options,
            stop,
            writer,
            progress or (lambda _msg: None),
            every_s,
            clock,
            started,
        )
    except KeyboardInterrupt:
        stopped_by = "interrupted"
    finally:
        result = loadrun.stop_and_collect()
        writer.close(result.committed)
    return LoadReport(
        target=load,
        options=options,
        result=result,
        stopped_by=stopped_by,
        ids_file=str(ids_file) if ids_file else None,
        window_offsets_s=tuple(w.start - started for w in result.windows),
    )


def _drive(
    loadrun: LoadRun,
    load: LoadTarget,
    options: LoadOptions,
    stop: threading.Event,
    writer: _IdsWriter,
    say: Callable[[str], None],
    every_s: float,
    clock: Callable[[], float],
    started: float,
) -> str:
    """Wait out the load, writing ids and a progress line now and then; why it ended."""
    last_said, last_count = started, 0
    while True:
        elapsed = clock() - started
        if options.duration_s is not None and elapsed >= options.duration_s:
            return "duration"
        left = options.duration_s - elapsed if options.duration_s is not None else 0.5
        if stop.wait(max(0.0, min(0.5, left))):
            return "stopped"
        writer.flush(loadrun.result.committed)
        if clock() - last_said >= every_s:
            count = len(loadrun.result.committed)
            say(
                _tick(
                    clock() - started,
                    count,
                    count - last_count,
                    loadrun.result.errors,
                    load.dials(),
                )
            )
            last_said, last_count = clock(), count


def _tick(elapsed: float, committed: int, new: int, errors: int, dials: str) -> str:
    return (
        f"  {elapsed:6.1f} s  {committed:,} committed (+{new:,}), {errors} error(s); "
        f"the name leads to {dials}"
    )


def _ensure_table(load: LoadTarget) -> None:
    import psycopg

    from snapmigrate.loadgen import ensure_table

    try:
        ensure_table(load.endpoint, load.database, table=load.table, connect_map=load.connect_map)
    except psycopg.Error as e:
        first = " ".join(str(e).split())[:200]
        raise OperationFailed(
            f"cannot create the load table {load.table} "
            f"on {load.endpoint.describe(load.database)}: {first}"
        ) from None


# -- the loss check ---------------------------------------------------------------------


@dataclass(frozen=True)
class CheckReport:
    """Which ids of an ids file the database behind the name holds now."""

    target: LoadTarget
    ids_file: str
    check: LossCheck
    dials: str
    table_missing: bool = False

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.check.lost == 0 else EXIT_DIFFERENCES

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.target.to_dict(),
            "ids_file": self.ids_file,
            "dials": self.dials,
            "table_missing": self.table_missing,
            **self.check.to_dict(),
        }


def read_ids(path: str | Path) -> list[int]:
    """The ids of an ids file (one integer a line; blank lines ignored)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        raise BadInput(
            f"ids file {p} does not exist: write one with 'snapmigrate lab load --ids-file {p}'"
        ) from None
    except OSError as e:
        raise BadInput(f"cannot read the ids file {p}: {e.strerror or e}") from None
    ids = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            ids.append(int(line))
        except ValueError:
            raise BadInput(
                f"line {n} of {p} is not an id ({line[:40]!r}): it holds one integer a line"
            ) from None
    if not ids:
        raise BadInput(
            f"ids file {p} holds no id: nothing to check (did the load commit anything?)"
        )
    return ids


def check(load: LoadTarget, ids_file: str | Path) -> CheckReport:
    """Count how many of the file's ids are on the database the name reaches now."""
    import psycopg

    from snapmigrate.loadgen import check_committed

    ids = read_ids(ids_file)
    dials = load.dials()
    try:
        found = check_committed(
            load.endpoint, load.database, ids, table=load.table, connect_map=load.connect_map
        )
    except psycopg.errors.UndefinedTable:
        # The name leads to a database without the load's table: none of the ids is there.
        return CheckReport(
            load,
            str(ids_file),
            LossCheck(len(ids), 0, tuple(sorted(ids))),
            dials,
            table_missing=True,
        )
    except psycopg.Error as e:
        first = " ".join(str(e).split())[:200]
        raise OperationFailed(
            f"cannot read {load.table} on {load.endpoint.describe(load.database)}: {first}"
        ) from None
    return CheckReport(load, str(ids_file), found, dials)

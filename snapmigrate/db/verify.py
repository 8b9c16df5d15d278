"""Prove a copy holds the same data as its source: :func:`verify`, the one
function the ``verify`` command, ``migrate`` and ``cutover`` call.

Per database, both sides: one consistent snapshot shared by ``jobs``
connections (``pg_export_snapshot``), the schema inventory, then every table's
exact row count and (mode ``checksum``) its hash, bisected to the differing
rows. Sessions are read-only; nothing is created on either side.
"""

from __future__ import annotations

import contextlib
import queue
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from snapmigrate.db.catalog import (
    Inventory,
    hash_columns,
    is_integer_key,
    qualname,
    quote,
    read_inventory,
)
from snapmigrate.db.compare import compare_table
from snapmigrate.db.connect import connect, list_databases
from snapmigrate.db.dialect import Dialect, Table
from snapmigrate.db.results import DatabaseResult, DriftInfo, TableResult, VerifyResult
from snapmigrate.db.schema_diff import SchemaDifference, diff_inventories
from snapmigrate.db.scope import CompareSettings, TableRef, TableSpec, VerifyOptions
from snapmigrate.db.sessions import Pair, QueryError, Side, stop
from snapmigrate.db.stats import FLUSH_DELAY_S, Baseline, write_counters
from snapmigrate.errors import BadInput

if TYPE_CHECKING:
    import psycopg

    from snapmigrate.connectmap import ConnectMap
    from snapmigrate.db.connect import Endpoint

__all__ = ["TableRef", "VerifyOptions", "VerifyResult", "verify"]

Progress = Callable[[str], None]
DATA_KINDS = ("r", "m")


def verify(
    source: Endpoint,
    target: Endpoint,
    options: VerifyOptions,
    *,
    connect_map: ConnectMap | None = None,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> VerifyResult:
    """Compare ``target`` with ``source``: schema inventory, exact row counts and
    (mode ``checksum``) checksums with the differing rows located, per database.

    Raises :class:`~snapmigrate.errors.ConnectError` (exit 2) when a side cannot
    be reached and :class:`BadInput` for a database the source does not have.
    """
    started = time.monotonic()
    say = progress or (lambda _msg: None)
    pairs, missing = _database_pairs(source, target, options, connect_map)
    settings = CompareSettings(mode=options.mode, max_differing_rows=options.max_differing_rows)
    databases: list[DatabaseResult] = []
    tables: list[TableResult] = []
    diffs: list[SchemaDifference] = list(missing)
    snapshot_taken = time.monotonic()
    for src_db, tgt_db in pairs:
        say(f"{src_db}: comparing ({options.mode}, {options.jobs} job(s) per side)")
        db_result, db_tables, db_diffs = _verify_database(
            source, target, src_db, tgt_db, options, settings, connect_map, say
        )
        databases.append(db_result)
        tables += db_tables
        diffs += db_diffs
    for name in sorted(d.object for d in missing if d.difference == "missing_on_target"):
        databases.append(DatabaseResult(name, name, on_target=False))
    drift = None
    differs = bool(diffs) or any(not t.equal for t in tables)
    if isinstance(options.baseline, Baseline) and differs:
        # Drift only explains differences: with none, there is nothing to label.
        # Counters of writes committed just before our snapshot may not be published yet.
        sleep(max(0.0, FLUSH_DELAY_S - (time.monotonic() - snapshot_taken)))
        drift, tables, diffs = _mark_drift(
            options.baseline, source, [p[0] for p in pairs], tables, diffs, connect_map
        )
    result = VerifyResult(
        source=source.describe(),
        target=target.describe(),
        mode=options.mode,
        databases=tuple(databases),
        tables=tuple(tables),
        schema_differences=tuple(diffs),
        drift=drift,
        elapsed_s=time.monotonic() - started,
        jobs=options.jobs,
        allow_drift=options.allow_drift,
    )
    say(
        f"{'equal' if result.equal else 'DIFFERENT'}: {len(tables)} table(s), "
        f"{len(result.differing_tables)} differing, {len(diffs)} schema difference(s) "
        f"in {result.elapsed_s:.2f} s"
    )
    return result


def _database_pairs(
    source: Endpoint, target: Endpoint, options: VerifyOptions, connect_map: ConnectMap | None
) -> tuple[list[tuple[str, str]], list[SchemaDifference]]:
    """(source db, target db) pairs to compare, and databases only one side has."""
    if not options.databases and source.dbname:
        # Both URIs name a database: compare exactly those two.
        return [(source.dbname, target.dbname or source.dbname)], []
    src_dbs = list_databases(source, connect_map=connect_map)
    tgt_dbs = set(list_databases(target, connect_map=connect_map))
    wanted = list(options.databases) or src_dbs
    unknown = [d for d in wanted if d not in src_dbs]
    if unknown:
        raise BadInput(
            f"database {unknown[0]!r} does not exist on the {source.describe()}; it "
            f"has: {', '.join(src_dbs) or 'none'}"
        )
    missing = [
        SchemaDifference(d, "database", quote(d), "missing_on_target")
        for d in wanted
        if d not in tgt_dbs
    ]
    extra = []
    if not options.databases:
        extra = [
            SchemaDifference(d, "database", quote(d), "extra_on_target")
            for d in sorted(tgt_dbs - set(src_dbs))
        ]
    return [(d, d) for d in wanted if d in tgt_dbs], missing + extra


# -- one database ----------------------------------------------------------------------


def _verify_database(
    source: Endpoint,
    target: Endpoint,
    src_db: str,
    tgt_db: str,
    options: VerifyOptions,
    settings: CompareSettings,
    connect_map: ConnectMap | None,
    say: Progress,
) -> tuple[DatabaseResult, list[TableResult], list[SchemaDifference]]:
    pairs = _open_pairs(source, target, src_db, tgt_db, options.jobs, connect_map)
    try:
        lead = pairs[0]
        (src_version,), (tgt_version,) = lead.both(lambda side: side.one(Dialect.server_version()))
        dialect = Dialect.for_versions(src_version, tgt_version)
        setup = dialect.session_setup()
        for pair in pairs:
            pair.run_both(setup)
        shared = _share_snapshot(pairs, dialect)
        src_inv, tgt_inv = lead.both(
            lambda side: read_inventory(
                side.run, dialect, src_version if side is lead.source else tgt_version
            )
        )
        keep = lambda schema, name: options.keeps(src_db, schema, name)  # noqa: E731
        src_inv = src_inv.filtered(keep, options.keeps_schema)
        tgt_inv = tgt_inv.filtered(keep, options.keeps_schema)
        diffs = diff_inventories(src_db, src_inv, tgt_inv)
        specs = _table_specs(src_db, src_inv, tgt_inv, options.leave_out)
        say(f"{src_db}: {len(specs)} table(s) to compare, {len(diffs)} schema difference(s)")
        results = _run_tables(pairs, dialect, specs, settings, say)
        results += _one_sided_tables(lead, dialect, src_db, src_inv, tgt_inv)
        results.sort(key=lambda r: (r.schema, r.name))
        db_result = DatabaseResult(
            src_db,
            tgt_db,
            src_version,
            tgt_version,
            snapshot="shared" if shared else "per-connection",
        )
        return db_result, results, diffs
    except BaseException:
        _cancel(pairs)
        raise
    finally:
        _close(pairs)


def _open_pairs(
    source: Endpoint,
    target: Endpoint,
    src_db: str,
    tgt_db: str,
    jobs: int,
    connect_map: ConnectMap | None,
) -> list[Pair]:
    """``jobs`` connections to each side, opened concurrently."""
    opened: list[psycopg.Connection[Any]] = []
    with ThreadPoolExecutor(
        max_workers=min(2 * jobs, 16), thread_name_prefix="snapmigrate-connect"
    ) as ex:
        futures = [
            (
                ex.submit(connect, source, src_db, connect_map=connect_map),
                ex.submit(connect, target, tgt_db, connect_map=connect_map),
            )
            for _ in range(jobs)
        ]
        error: BaseException | None = None
        conns = []
        for f_src, f_tgt in futures:
            pair_conns = []
            for f in (f_src, f_tgt):
                try:
                    conn = f.result()
                    opened.append(conn)
                    pair_conns.append(conn)
                except BaseException as e:  # re-raised below, after closing the rest
                    error = error or e
            conns.append(pair_conns)
    if error is not None:
        for conn in opened:
            conn.close()
        raise error
    return [Pair(Side("source", s), Side("target", t)) for s, t in conns]


def _share_snapshot(pairs: Sequence[Pair], dialect: Dialect) -> bool:
    """Start one REPEATABLE READ snapshot per side, shared by all its connections.

    Returns False when the server cannot export snapshots (each connection then has its own)."""
    lead = pairs[0]

    def begin(side: Side) -> str | None:
        side.run(dialect.begin_snapshot())
        try:
            (snapshot,) = side.one(dialect.export_snapshot())
            return str(snapshot)
        except QueryError:
            side.run(dialect.rollback())
            side.run(dialect.begin_snapshot())
            return None

    src_snap, tgt_snap = lead.both(begin)
    for pair in pairs[1:]:
        for side, snap in ((pair.source, src_snap), (pair.target, tgt_snap)):
            side.run(dialect.begin_snapshot())
            if snap is not None:
                try:
                    side.run(dialect.set_snapshot(snap))
                except QueryError:
                    side.run(dialect.rollback())
                    side.run(dialect.begin_snapshot())
    return src_snap is not None and tgt_snap is not None


def _table_specs(
    database: str,
    src: Inventory,
    tgt: Inventory,
    leave_out: Mapping[tuple[str, str, str], tuple[str, ...] | None] | None = None,
) -> list[TableSpec]:
    """The tables both sides have whose rows are compared (without the columns left out:
    a table whose key is among them is compared by whole-table checksum)."""
    specs = []
    for key in sorted(src.relations.keys() & tgt.relations.keys()):
        rel, other = src.relations[key], tgt.relations[key]
        if (
            rel.kind not in DATA_KINDS
            or rel.kind != other.kind
            or not (rel.populated and other.populated)
        ):
            continue
        src_cols, tgt_cols = src.columns.get(key, ()), tgt.columns.get(key, ())
        key_cols = src.key_of(*key)
        if key_cols and (
            tgt.key_of(*key) != key_cols or not _same_key_types(src_cols, tgt_cols, key_cols)
        ):
            key_cols = None  # the sides disagree on the key: whole-table checksum only
        skipped = set((leave_out or {}).get((database, *key)) or ())
        if skipped:
            src_cols = tuple(c for c in src_cols if c.name not in skipped)
            if key_cols and skipped & set(key_cols):
                key_cols = None
        specs.append(
            TableSpec(
                database=database,
                schema=key[0],
                name=key[1],
                kind=rel.kind_name,
                columns=hash_columns(src_cols, tgt_cols),
                key=key_cols,
                integer_key=is_integer_key(src_cols, key_cols),
                estimated_rows=rel.estimated_rows,
                unlogged=rel.persistence == "u",
            )
        )
    return specs


def _same_key_types(src_cols: Sequence[Any], tgt_cols: Sequence[Any], key: Sequence[str]) -> bool:
    s = {c.name: c.type for c in src_cols}
    t = {c.name: c.type for c in tgt_cols}
    return all(s.get(k) == t.get(k) for k in key)


def _run_tables(
    pairs: Sequence[Pair],
    dialect: Dialect,
    specs: Sequence[TableSpec],
    settings: CompareSettings,
    say: Progress,
) -> list[TableResult]:
    """Compare tables over the pairs, biggest first, each pair on one table at a time."""
    free: queue.SimpleQueue[Pair] = queue.SimpleQueue()
    for pair in pairs:
        free.put(pair)

    def task(spec: TableSpec) -> TableResult:
        pair = free.get()
        try:
            result = _guarded(pair, dialect, spec, settings)
        finally:
            free.put(pair)
        say(f"{spec.database}: {qualname(spec.schema, spec.name)}: {_one_line(result)}")
        return result

    ordered = sorted(specs, key=lambda s: -s.estimated_rows)
    ex = ThreadPoolExecutor(max_workers=len(pairs), thread_name_prefix="snapmigrate-job")
    futures = [ex.submit(task, spec) for spec in ordered]
    try:
        return [f.result() for f in futures]
    except BaseException:
        # Ctrl-C or a failure: stop the servers' work now, not after the running scans
        stop(futures, lambda: _cancel(pairs))
        raise
    finally:
        ex.shutdown(wait=True)


def _guarded(
    pair: Pair, dialect: Dialect, spec: TableSpec, settings: CompareSettings
) -> TableResult:
    """One table inside a savepoint: an error (permissions, lock timeout) spoils only this table."""
    pair.run_both(dialect.savepoint())
    try:
        result = compare_table(pair, dialect, spec, settings)
    except QueryError as e:
        pair.run_both(dialect.rollback_to_savepoint())
        return TableResult(
            spec.database, spec.schema, spec.name, spec.kind, key=spec.key, error=str(e)
        )
    pair.run_both(dialect.release_savepoint())
    return result


def _one_sided_tables(
    lead: Pair, dialect: Dialect, database: str, src: Inventory, tgt: Inventory
) -> list[TableResult]:
    """Tables only one side has, with their row count there."""
    out = []
    for inv, side, other in ((src, lead.source, tgt), (tgt, lead.target, src)):
        for key in sorted(inv.relations.keys() - other.relations.keys()):
            rel = inv.relations[key]
            if rel.kind not in DATA_KINDS or not rel.populated:
                continue
            (rows,) = side.one(dialect.count(Table(*key)))
            on_source = side is lead.source
            out.append(
                TableResult(
                    database,
                    key[0],
                    key[1],
                    rel.kind_name,
                    source_rows=rows if on_source else None,
                    target_rows=None if on_source else rows,
                    method="missing on target" if on_source else "only on target",
                )
            )
    return out


def _one_line(result: TableResult) -> str:
    if result.error:
        return f"error: {result.error}"
    state = "equal" if result.equal else f"DIFFERENT ({result.differing_rows} row(s))"
    return f"{result.source_rows} / {result.target_rows} rows, {state}, {result.elapsed_s:.2f} s"


def _cancel(pairs: Sequence[Pair]) -> None:
    for pair in pairs:
        pair.source.cancel()
        pair.target.cancel()


def _close(pairs: Sequence[Pair]) -> None:
    for pair in pairs:
        pair.close()
        for side in (pair.source, pair.target):
            with contextlib.suppress(Exception):
                side.conn.close()


# -- drift ------------------------------------------------------------------------------


def _mark_drift(
    baseline: Baseline,
    source: Endpoint,
    databases: Sequence[str],
    tables: list[TableResult],
    diffs: list[SchemaDifference],
    connect_map: ConnectMap | None,
) -> tuple[DriftInfo, list[TableResult], list[SchemaDifference]]:
    """Label what changed on the source since the snapshot as drift."""
    now = write_counters(source, databases=databases, connect_map=connect_map)
    changed, reset = baseline.drifted(now)
    moved = {(k.database, k.schema, k.table) for k in changed}
    moved_sequences = baseline.moved_sequences(now)
    sequences = {(k.database, qualname(k.schema, k.table)) for k in moved_sequences}
    tables = [replace(t, drift=(t.database, t.schema, t.name) in moved) for t in tables]
    diffs = [
        replace(
            d,
            drift=d.kind == "sequence"
            and (
                (d.database, d.object) in sequences
                or (d.table is not None and (d.database, *d.table) in moved)
            ),
        )
        for d in diffs
    ]
    info = DriftInfo(
        baseline.after.captured_at,
        now.captured_at,
        tuple(changed),
        tuple(reset),
        tuple(moved_sequences),
    )
    return info, tables, diffs

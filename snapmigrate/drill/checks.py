"""A drill's checks on the restored copy, against the live source, with the
verifier (:func:`snapmigrate.db.verify.verify`) -- and what its differences mean.

With a heartbeat, the copy's newest beat holds the source's write counters as
of the recovery point: the verifier's drift baseline. A table whose counters
moved since then (up to the moment the source is read, after t0: the copy is
compared with the live source) is *drift*, reported with its writes since; a
table that did not move must be equal -- any difference fails, naming it.
Without a heartbeat every difference is reported as "cannot separate drift";
an unreadable table (a read error) always fails, and a missing object fails
``schema`` unless the heartbeat shows it was created after the recovery point.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from snapmigrate.connectmap import ConnectMap
from snapmigrate.db.catalog import qualname
from snapmigrate.db.connect import Endpoint
from snapmigrate.db.drill import run_sql_checks, split_queries
from snapmigrate.db.results import TableResult, VerifyResult
from snapmigrate.db.schema_diff import SchemaDifference
from snapmigrate.db.stats import TableKey, WriteCounters, write_counters
from snapmigrate.db.verify import VerifyOptions, verify
from snapmigrate.drill.result import Check
from snapmigrate.errors import BadInput

NO_HEARTBEAT = "cannot separate drift (no heartbeat)"
#: How many names a check's detail lists before "and N more".
LISTED = 5


def _names(items: Sequence[str]) -> str:
    shown = ", ".join(items[:LISTED])
    return shown + (f" and {len(items) - LISTED} more" if len(items) > LISTED else "")


def _table(t: TableResult) -> str:
    return f"{t.database} {qualname(t.schema, t.name)}"


def writes_since(base: WriteCounters, now: WriteCounters, key: TableKey) -> int:
    """Inserts + updates + deletes on ``key`` between two captures."""
    then, later = base.tables.get(key), now.tables.get(key)
    if later is None:
        return 0
    return sum(later) - (sum(then) if then is not None else 0)


class Judge:
    """Turns one verifier result into the drill's checks."""

    def __init__(
        self, result: VerifyResult, base: WriteCounters | None, now: WriteCounters | None
    ) -> None:
        self.result = result
        self.base = base
        self.now = now

    def _drift_note(self, t: TableResult) -> str:
        key = TableKey(t.database, t.schema, t.name)
        if self.base is None or self.now is None:
            return _table(t)
        return f"{_table(t)} ({writes_since(self.base, self.now, key)} writes since)"

    def _created_after(self, d: SchemaDifference) -> bool:
        """A table the newest beat's counters do not know: created after the recovery point."""
        if self.base is None or d.kind not in ("table", "partitioned table"):
            return False
        known = {qualname(k.schema, k.table) for k in self.base.tables if k.database == d.database}
        return d.object not in known

    def schema(self) -> Check:
        diffs = self.result.schema_differences
        failing = [
            d
            for d in diffs
            if d.difference in ("missing_on_target", "changed")
            and not d.drift
            and not self._created_after(d)
        ]
        reported = [d for d in diffs if d not in failing]
        if failing:
            detail = f"{len(failing)} difference(s): " + _names(
                [f"{d.database} {d.message}" for d in failing]
            )
        else:
            detail = "inventory equal to the source's"
        if reported:
            detail += "; reported, not failed: " + _names(
                [f"{d.database} {d.message}" for d in reported]
            )
        return Check("schema", not failing, detail)

    def data(self, name: str, differs: Sequence[TableResult]) -> Check:
        errors = [t for t in self.result.tables if t.error]
        compared = [t for t in self.result.tables if t.target_rows is not None and not t.error]
        failing = [t for t in differs if self.base is not None and not t.drift]
        drift = [t for t in differs if self.base is not None and t.drift]
        parts = [f"{len(compared) - len(differs)} of {len(compared)} table(s) equal"]
        if errors:
            parts.append("unreadable: " + _names([f"{_table(t)}: {t.error}" for t in errors]))
        if failing:
            parts.append("differ without writes since the recovery point: "
                         + _names([_table(t) for t in failing]))  # fmt: skip
        if drift:
            parts.append("drift: " + _names([self._drift_note(t) for t in drift]))
        if self.base is None and differs:
            parts.append(f"{NO_HEARTBEAT}: " + _names([_table(t) for t in differs]))
        return Check(name, not failing and not errors, "; ".join(parts))

    def counts(self) -> Check:
        one_sided = lambda t: t.source_rows is None or t.target_rows is None  # noqa: E731
        differs = [
            t for t in self.result.tables if not one_sided(t) and not t.error and not t.rows_equal
        ]
        return self.data("counts", differs)

    def checksum(self) -> Check:
        differs = [
            t
            for t in self.result.tables
            if t.target_rows is not None and t.source_rows is not None and not t.error
            and (t.checksum_equal is False or not t.rows_equal)
        ]  # fmt: skip
        return self.data("checksum", differs)


def run_checks(
    source: Endpoint,
    copy: Endpoint,
    checks: Sequence[str],
    *,
    base: WriteCounters | None,
    connect_map: ConnectMap | None,
    jobs: int = 2,
) -> tuple[Check, ...]:
    """``schema``, ``counts``, ``checksum``: one verifier pass, judged."""
    wanted = [c for c in checks if c in ("schema", "counts", "checksum")]
    if not wanted:
        return ()
    mode = "checksum" if "checksum" in wanted else "counts"
    options = VerifyOptions(mode=mode, jobs=jobs, baseline=base, max_differing_rows=5)
    result = verify(source, copy, options, connect_map=connect_map)
    now = write_counters(source, connect_map=connect_map) if base is not None else None
    judge = Judge(result, base, now)
    return tuple(getattr(judge, name)() for name in wanted)


def sql_checks(
    copy: Endpoint, database: str, files: Sequence[str], *, connect_map: ConnectMap | None
) -> tuple[Check, ...]:
    """``sql:FILE``: each file's queries on the copy; one check per file."""
    found = []
    for path in files:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as e:
            raise BadInput(f"cannot read --check sql:{path}: {e.strerror or e}") from None
        answers = run_sql_checks(
            copy, database, split_queries(text, f"sql:{path}"), connect_map=connect_map
        )
        bad = [a for a in answers if not a.ok]
        detail = f"{len(answers) - len(bad)} of {len(answers)} query(ies) ok"
        if bad:
            detail += "; failed: " + _names(
                [f"{a.query.splitlines()[0][:60]}" + (f" ({a.detail})" if a.detail else "")
                 for a in bad]
            )  # fmt: skip
        found.append(Check(f"sql:{path}", not bad, detail))
    return tuple(found)

"""Row counts, checksums and bisection of one table, both sides at once.

No SQL text here (like reladiff's ``hashdiff_tables``): a :class:`Side` runs
what the :class:`~snapmigrate.db.dialect.Dialect` composes. Only aggregates and
the final small ranges reach the client, so memory stays flat whatever the
table size.

Where a table's hashes differ it is split by key ranges: by arithmetic on an
integer leading key column (one grouped scan gives every bucket's count and
hash), else at key quantiles computed server-side. Ranges whose hashes differ
are split again until they hold at most ``leaf_rows`` rows, then each side's
(key, row hash) pairs are fetched and matched.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from snapmigrate.db.dialect import Bound, Dialect, KeyRange
from snapmigrate.db.results import Kind, RowDifference, TableResult
from snapmigrate.db.scope import CompareSettings, TableSpec
from snapmigrate.db.sessions import Pair, Side

# -- the algorithm -------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """A key range and each side's row count in it."""

    range: KeyRange
    source_rows: int
    target_rows: int


@dataclass
class _Found:
    """Differing keys found so far, up to a limit."""

    limit: int
    keys: list[tuple[Bound, Kind]] = field(default_factory=list)
    count: int = 0
    exact: bool = True

    @property
    def full(self) -> bool:
        return self.count >= self.limit > 0 or (self.limit == 0 and self.count > 0)

    def add(self, key: Bound, kind: Kind) -> None:
        self.count += 1
        if len(self.keys) < self.limit:
            self.keys.append((key, kind))


def compare_table(
    pair: Pair, dialect: Dialect, spec: TableSpec, settings: CompareSettings
) -> TableResult:
    """Count (and checksum) one table on both sides; locate differing rows by bisection."""
    started = time.monotonic()
    base = TableResult(spec.database, spec.schema, spec.name, spec.kind, key=spec.key)
    if settings.mode == "counts":
        (s,), (t,) = pair.both(lambda side: side.one(dialect.count(spec.table)))
        return replace(
            base,
            source_rows=s,
            target_rows=t,
            method="count",
            elapsed_s=time.monotonic() - started,
            differing_rows=abs(s - t),
            differing_rows_exact=s == t,
        )
    comparer = _Comparer(pair, dialect, spec, settings)
    result = comparer.run(base)
    if spec.unlogged and not result.equal:
        # Unlogged tables are emptied by crash recovery, so by restores too.
        result = replace(result, note="unlogged table: a snapshot restore does not carry its rows")
    return replace(result, elapsed_s=time.monotonic() - started)


class _Comparer:
    def __init__(
        self, pair: Pair, dialect: Dialect, spec: TableSpec, settings: CompareSettings
    ) -> None:
        self.pair = pair
        self.dialect = dialect
        self.spec = spec
        self.settings = settings
        self.found = _Found(settings.max_differing_rows)

    def run(self, base: TableResult) -> TableResult:
        spec = self.spec
        if spec.integer_key and (
            spec.estimated_rows >= self.settings.bucketed_min_rows or spec.estimated_rows < 0
        ):
            return self._bucketed(base)
        (cs, hs), (ct, ht) = self.pair.both(
            lambda side: side.one(self.dialect.checksum(spec.table, spec.columns))
        )
        equal = cs == ct and hs == ht
        result = replace(
            base, source_rows=cs, target_rows=ct, checksum_equal=equal, method="checksum"
        )
        if equal:
            return result
        if not spec.key:
            return replace(
                result,
                method="whole-table checksum",
                note="no primary key or unique NOT NULL key: differing rows cannot be located",
                differing_rows=abs(cs - ct),
                differing_rows_exact=False,
            )
        if spec.integer_key:
            return self._bucketed(base)
        self._locate([Segment(KeyRange(), cs, ct)])
        return self._finish(replace(result, method="checksum + bisection"))

    def _bucketed(self, base: TableResult) -> TableResult:
        """One grouped scan per side: every integer-key bucket's rows and hash."""
        spec = self.spec
        key0 = spec.key[0] if spec.key else ""
        (smin, smax), (tmin, tmax) = self.pair.both(
            lambda side: side.one(self.dialect.key_bounds(spec.table, key0))
        )
        lows = [v for v in (smin, tmin) if v is not None]
        highs = [v for v in (smax, tmax) if v is not None]
        if not lows:
            return replace(
                base, source_rows=0, target_rows=0, checksum_equal=True, method="checksum"
            )
        lo, hi = min(lows), max(highs)
        # Unknown statistics (never analyzed): assume the keys are dense.
        rows = spec.estimated_rows if spec.estimated_rows >= 0 else hi - lo + 1
        width = _width(lo, hi, self._bucket_count(lo, hi, rows))
        src, tgt = self._grouped(lo, hi, width, whole_table=True)
        cs = sum(v[0] for v in src.values())
        ct = sum(v[0] for v in tgt.values())
        differing = sorted(b for b in src.keys() | tgt.keys() if src.get(b) != tgt.get(b))
        result = replace(
            base,
            source_rows=cs,
            target_rows=ct,
            checksum_equal=not differing,
            method="checksum (bucketed)",
        )
        if not differing:
            return result
        self._locate(_bucket_segments(lo, hi, width, src, tgt, differing))
        return self._finish(replace(result, method="checksum (bucketed) + bisection"))

    def _bucket_count(self, lo: int, hi: int, rows: float) -> int:
        span = hi - lo + 1
        wanted = math.ceil(min(span, max(rows, 1)) / self.settings.leaf_rows)
        return max(1, min(self.settings.max_buckets, wanted))

    def _grouped(
        self, lo: int, hi: int, width: int, *, whole_table: bool = False
    ) -> tuple[dict[int, tuple[int, Any]], dict[int, tuple[int, Any]]]:
        """Rows and hash per bucket of ``width`` keys over [lo, hi], one scan per side."""
        key0 = (self.spec.key or ("",))[0]
        query = self.dialect.buckets(
            self.spec.table, self.spec.columns, key0, lo, width, hi, whole_table=whole_table
        )

        def grouped(side: Side) -> dict[int, tuple[int, Any]]:
            # The planner guesses one group per key and would sort the rows;
            # there are at most max_buckets groups, so a hash table is right.
            side.run(self.dialect.set_enable_sort(False))
            try:
                return {int(b): (int(c), h) for b, c, h in side.run(query)}
            finally:
                side.run(self.dialect.set_enable_sort(True))

        return self.pair.both(grouped)

    # -- bisection ------------------------------------------------------------------

    def _locate(self, segments: Sequence[Segment]) -> None:
        todo = list(reversed(segments))
        while todo:
            if self.found.full:
                self.found.exact = False
                return
            seg = todo.pop()
            if seg.source_rows == 0 or seg.target_rows == 0:
                self._one_sided(seg)
            elif max(seg.source_rows, seg.target_rows) <= self.settings.leaf_rows:
                self._leaf(seg)
            else:
                todo.extend(reversed(self._split(seg)))

    def _one_sided(self, seg: Segment) -> None:
        """Every row of the range is on one side only: no need to look closer."""
        side, kind = (
            (self.pair.target, "extra_on_target")
            if seg.source_rows == 0
            else (self.pair.source, "missing_on_target")
        )
        total = max(seg.source_rows, seg.target_rows)
        want = max(0, self.found.limit - len(self.found.keys))
        keys = (
            side.run(self.dialect.first_keys(self.spec.table, self.spec.key or (), seg.range, want))
            if want
            else []
        )
        for k in keys:
            self.found.keys.append((tuple(k), kind))  # type: ignore[arg-type]
        self.found.count += total

    def _leaf(self, seg: Segment) -> None:
        spec = self.spec
        key = spec.key or ()
        n = len(key)
        query = self.dialect.row_hashes(spec.table, spec.columns, key, seg.range)
        src_rows, tgt_rows = self.pair.run_both(query)
        src = {_freeze(r[:n]): r[n] for r in src_rows}
        tgt = {_freeze(r[:n]): r[n] for r in tgt_rows}
        diffs: list[tuple[Bound, Kind]] = []
        for k, h in src.items():
            other = tgt.get(k, _MISSING)
            if other is _MISSING:
                diffs.append((k, "missing_on_target"))
            elif other != h:
                diffs.append((k, "changed"))
        diffs += [(k, "extra_on_target") for k in tgt if k not in src]
        for k, kind in sorted(diffs, key=lambda d: _sort_key(d[0])):
            self.found.add(k, kind)

    def _split(self, seg: Segment) -> list[Segment]:
        """Sub-ranges of ``seg`` whose hashes differ."""
        spec = self.spec
        key = spec.key or ()
        rng = seg.range
        if (
            spec.integer_key
            and rng.lo is not None
            and rng.hi is not None
            and len(rng.lo) == 1
            and len(rng.hi) == 1
        ):
            lo, hi = int(rng.lo[0]), int(rng.hi[0]) - 1
            if hi > lo:
                return self._split_integer(lo, hi, max(seg.source_rows, seg.target_rows))
        bigger = self.pair.source if seg.source_rows >= seg.target_rows else self.pair.target
        rows = max(seg.source_rows, seg.target_rows)
        step = max(1, math.ceil(rows / self.settings.fanout))
        cuts = [
            tuple(r)
            for r in bigger.run(
                self.dialect.quantiles(spec.table, key, rng, step, self.settings.fanout - 1)
            )
        ]
        bounds: list[Bound | None] = [rng.lo, *cuts, rng.hi]
        ranges = [KeyRange(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]
        src, tgt = self.pair.run_both(self.dialect.segments(spec.table, spec.columns, key, ranges))
        s = {int(i): (int(c), h) for i, c, h in src}
        t = {int(i): (int(c), h) for i, c, h in tgt}
        return [Segment(ranges[i], s[i][0], t[i][0]) for i in range(len(ranges)) if s[i] != t[i]]

    def _split_integer(self, lo: int, hi: int, rows: int) -> list[Segment]:
        n = max(
            2,
            min(
                self.settings.max_buckets,
                math.ceil(rows / self.settings.leaf_rows) * 2,
                hi - lo + 1,
            ),
        )
        width = _width(lo, hi, n)
        src, tgt = self._grouped(lo, hi, width)
        differing = sorted(b for b in src.keys() | tgt.keys() if src.get(b) != tgt.get(b))
        return _bucket_segments(lo, hi, width, src, tgt, differing)

    # -- the differing rows ---------------------------------------------------------

    def _finish(self, result: TableResult) -> TableResult:
        samples = self._describe(self.found.keys)
        return replace(
            result,
            differing_rows=self.found.count,
            differing_rows_exact=self.found.exact,
            samples=tuple(samples),
        )

    def _describe(self, keys: Sequence[tuple[Bound, Kind]]) -> list[RowDifference]:
        """The differing rows with the columns that differ and a preview of their values."""
        spec = self.spec
        key = spec.key or ()
        if not keys:
            return []
        wanted = [k for k, _ in keys]
        query = self.dialect.rows(
            spec.table, spec.columns, key, wanted, self.settings.preview_chars
        )
        src_rows, tgt_rows = self.pair.run_both(query)
        n = len(key)
        src = {_freeze(r[:n]): r[n:] for r in src_rows}
        tgt = {_freeze(r[:n]): r[n:] for r in tgt_rows}
        names = [c.name for c in spec.columns]
        out = []
        for k, kind in keys:
            a, b = src.get(k), tgt.get(k)
            changed: tuple[str, ...] = ()
            if a is not None and b is not None:
                changed = tuple(name for i, name in enumerate(names) if a[2 * i] != b[2 * i])
            out.append(
                RowDifference(
                    spec.database,
                    spec.schema,
                    spec.name,
                    tuple(zip(key, k, strict=True)),
                    kind,
                    changed,
                    _preview(names, a, changed if kind == "changed" else names),
                    _preview(names, b, changed if kind == "changed" else names),
                )
            )
        return out


def _bucket_segments(
    lo: int,
    hi: int,
    width: int,
    src: dict[int, tuple[int, Any]],
    tgt: dict[int, tuple[int, Any]],
    buckets: Sequence[int],
) -> list[Segment]:
    """The key ranges of the differing buckets, with each side's row count."""
    return [
        Segment(
            KeyRange((lo + b * width,), (min(lo + (b + 1) * width, hi + 1),)),
            src.get(b, (0, 0))[0],
            tgt.get(b, (0, 0))[0],
        )
        for b in buckets
    ]


_MISSING = object()


def _width(lo: int, hi: int, buckets: int) -> int:
    return max(1, math.ceil((hi - lo + 1) / buckets))


def _freeze(values: Sequence[Any]) -> Bound:
    return tuple(tuple(v) if isinstance(v, list) else v for v in values)


def _sort_key(key: Bound) -> tuple[Any, ...]:
    return tuple((type(v).__name__, v if isinstance(v, int | float | str) else str(v)) for v in key)


def _preview(
    names: Sequence[str], row: Sequence[Any] | None, which: Sequence[str]
) -> tuple[tuple[str, str | None], ...] | None:
    if row is None:
        return None
    chosen = set(which)
    return tuple((name, row[2 * i + 1]) for i, name in enumerate(names) if name in chosen)

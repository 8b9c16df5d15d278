"""Both sides of a comparison at once: a :class:`Side` runs what the dialect
composes and names its failures; a :class:`Pair` queries source and target
concurrently."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

import psycopg

from snapmigrate.db.dialect import Query
from snapmigrate.errors import OperationFailed

T = TypeVar("T")


class Side:
    """One side's connection: runs a query, failures named by side."""

    def __init__(self, label: str, conn: psycopg.Connection[Any]) -> None:
        self.label = label
        self.conn = conn

    def run(self, query: Query) -> list[tuple[Any, ...]]:
        try:
            cur = self.conn.execute(query.text, query.params or None)
            return cur.fetchall() if cur.description else []
        except psycopg.Error as e:
            raise QueryError(self.label, e) from e

    def one(self, query: Query) -> tuple[Any, ...]:
        rows = self.run(query)
        return rows[0] if rows else ()

    def cancel(self) -> None:
        """Ask the server to stop this connection's running query (best effort, bounded)."""
        with contextlib.suppress(Exception):  # on the way out: nothing to add to the error
            cancel = getattr(self.conn, "cancel_safe", None)  # psycopg 3.2+
            cancel(timeout=5) if cancel else self.conn.cancel()


class QueryError(OperationFailed):
    """A query failed on one side."""

    def __init__(self, side: str, error: Exception) -> None:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        super().__init__(f"{side}: {first}")
        self.side = side


def stop(futures: Collection[Future[Any]], cancel: Callable[[], None]) -> None:
    """Abandon ``futures`` on the way out: those not started never start; the running ones'
    queries are stopped with ``cancel`` -- again each second until they end, since a task
    may start its next query just after a cancel (and wait on a lock for ever)."""
    running = [f for f in futures if not f.cancel() and not f.done()]
    while running:
        cancel()
        running = list(wait(running, timeout=1).not_done)


class Pair:
    """A source and a target connection used together: both sides queried at once."""

    def __init__(self, source: Side, target: Side) -> None:
        self.source = source
        self.target = target
        self._helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="snapmigrate-source")

    def both(self, fn: Callable[[Side], T]) -> tuple[T, T]:
        """``fn`` on the source (in a helper thread) and the target (here), concurrently."""
        future = self._helper.submit(fn, self.source)
        try:
            on_target = fn(self.target)
        except Exception:
            future.exception()  # let the source finish before the connection is reused
            raise
        except BaseException:
            # Ctrl-C while the target's query ran: the source's may wait on a lock for ever,
            # so stop it before waiting for it (again, should it start after a cancel)
            stop([future], self.source.cancel)
            raise
        return future.result(), on_target

    def run_both(self, query: Query) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        return self.both(lambda side: side.run(query))

    def close(self) -> None:
        self._helper.shutdown(wait=True)

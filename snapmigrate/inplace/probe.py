"""The write probe of the in-place path's disruptive steps, and ``--max-write-outage``.

During the conversion, an upgrade and the failover a tiny writer (the load generator,
one worker, ``snapmigrate_inplace_probe`` in the ``postgres`` database) writes
through the cluster endpoint, as an application would; the longest stretch
without a commit, bounded by failed writes, is the step's write outage. The
table is dropped afterwards, so the data stays as the safety snapshot has it.
Before each disruptive step the outages measured so far are held against
``--max-write-outage``: one above it stops the run, saying so.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

from psycopg import sql

from snapmigrate.connectmap import ConnectMap
from snapmigrate.db.connect import Endpoint, connect
from snapmigrate.errors import OperationFailed, SnapmigrateError
from snapmigrate.inplace import outages
from snapmigrate.loadgen import LoadOptions, LoadRun, ensure_table
from snapmigrate.migrate import dataplane
from snapmigrate.migrate.context import MigrateContext
from snapmigrate.workflow.journal import StepDetails

log = logging.getLogger(__name__)

TABLE = "snapmigrate_inplace_probe"
DATABASE = "postgres"
#: One write every 50 ms: the outage is measured to about that.
OPTIONS = LoadOptions(workers=1, rate_per_worker=20, table=TABLE, connect_timeout=2)
#: How long the probe may take to see its first commit once the step is confirmed.
SETTLE_S = 60.0


@dataclass(frozen=True)
class OutageDetails(StepDetails):
    """What the probe saw during a disruptive step (a subclass names the step)."""

    always = frozenset({"write_unavailable_s"})

    #: The longest time writes failed, or None when it was not measured (``probe`` says why).
    write_unavailable_s: float | None = None
    probe: str | None = None
    commits: int = 0
    errors: int = 0


def shown(details: OutageDetails) -> str:
    """``0.32 s``, or why the outage was not measured."""
    if details.write_unavailable_s is None:
        return details.probe or "not measured"
    return f"{details.write_unavailable_s:.2f} s"


@dataclass
class Measured:
    """The probe's findings once it stopped."""

    write_unavailable_s: float | None = None
    probe: str | None = None
    commits: int = 0
    errors: int = 0


def guard(ctx: MigrateContext, step: str) -> None:
    """Stop before ``step`` when an earlier step's outage went over ``--max-write-outage``."""
    limit = ctx.settings.max_write_outage_s
    if limit is None:
        return
    for name, seconds in outages(ctx.record):
        if name != step and seconds is not None and seconds > limit:
            raise OperationFailed(
                f"step {name} stopped writes for {seconds:.1f} s, more than --max-write-outage "
                f"{limit:g} s: stopped before step {step}; the cluster is as {name} left it",
                hint=f"resume without --max-write-outage (or a higher one): snapmigrate migrate "
                f"--resume {ctx.run_id} --max-write-outage DURATION",
            )


@contextlib.contextmanager
def write_probe(ctx: MigrateContext, cluster_id: str) -> Iterator[Measured]:
    """Write through ``cluster_id``'s endpoint while the block runs; the ``Measured``
    yielded is filled in once the probe stopped."""
    measured = Measured()
    if not ctx.settings.connect:
        measured.probe = "not measured: --no-connect"
        yield measured
        return
    cmap = dataplane.connect_map(ctx)
    try:
        endpoint = dataplane.endpoint(ctx, cluster_id, "cluster")
        ensure_table(endpoint, DATABASE, table=TABLE, connect_map=cmap)
    except SnapmigrateError as e:
        measured.probe = f"not measured: the cluster endpoint did not take writes ({e})"
        yield measured
        return
    run = LoadRun(endpoint, DATABASE, OPTIONS, connect_map=cmap).start()
    try:
        yield measured
        _settle(run)
    finally:
        result = run.stop_and_collect()
        measured.write_unavailable_s = round(result.longest_unavailability_s, 3)
        measured.commits, measured.errors = len(result.committed), result.errors
        measured.probe = "measured"
        _drop(endpoint, cmap)


def _settle(run: LoadRun) -> None:
    """Wait (bounded) for a commit after this moment: the outage ends with one."""
    seen = len(run.result.committed)
    deadline = time.monotonic() + SETTLE_S
    while len(run.result.committed) <= seen and time.monotonic() < deadline:
        time.sleep(0.05)


def _drop(endpoint: Endpoint, cmap: ConnectMap) -> None:
    try:
        with connect(endpoint, DATABASE, connect_map=cmap) as conn:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(TABLE)))
    except SnapmigrateError as e:
        log.warning("the write probe's table %s stays in %s: %s", TABLE, DATABASE, e)

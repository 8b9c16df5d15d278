"""``drill heartbeat``: a small writer that puts a beat into the source every
``--every``: the time, and the source's per-table write counters
(``pg_stat_user_tables``) read just before. A restored copy carries, in its
newest beat, when its data ends (the data RPO) and what had been written up to
then (the checks' drift baseline).

Where the source has ``pg_cron``, a job can write the same rows (docs/drill.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from snapmigrate.aws import Aws, RetryPolicy
from snapmigrate.clone.lease import parse_duration
from snapmigrate.db.connect import connect, from_cluster
from snapmigrate.db.drill import beat, ensure_heartbeat
from snapmigrate.db.scope import TableRef
from snapmigrate.db.stats import write_counters
from snapmigrate.drill.options import DEFAULT_HEARTBEAT
from snapmigrate.errors import SnapmigrateError
from snapmigrate.plan.options import check_identifier
from snapmigrate.waiting import SystemClock

if TYPE_CHECKING:
    from snapmigrate.commands.config import Config

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HeartbeatResult:
    """What a heartbeat run wrote."""

    source: str
    table: str
    database: str
    beats: int
    first: str | None
    last: str | None
    errors: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def run_heartbeat(
    config: Config,
    source: str,
    *,
    table: str | None = None,
    database: str = "postgres",
    every: str = "5s",
    duration: str | None = None,
) -> HeartbeatResult:
    """Beat every ``every`` for ``duration`` (None: until Ctrl-C, which ends it cleanly)."""
    source = check_identifier(source, "source cluster identifier")
    ref = TableRef.parse(table or DEFAULT_HEARTBEAT)
    period = parse_duration(every, "--every", minimum=timedelta(milliseconds=100))
    length = parse_duration(duration, "--duration") if duration else None
    cmap = config.check_connect_map()
    clock = config.clock or SystemClock()
    aws = Aws(config.clients(), policy=RetryPolicy(), sleep=clock.sleep)
    endpoint = from_cluster(aws, source, "source")
    beats = errors = 0
    first = last = None
    started = clock.monotonic()
    with connect(endpoint, database, connect_map=cmap) as conn:
        ensure_heartbeat(conn, ref.schema, ref.name)
        try:
            while length is None or clock.monotonic() - started < length.total_seconds():
                due = clock.monotonic() + period.total_seconds()
                try:
                    beat(conn, ref.schema, ref.name, write_counters(endpoint, connect_map=cmap))
                    beats += 1
                    last = datetime.now(UTC).isoformat(timespec="milliseconds")
                    first = first or last
                except SnapmigrateError as e:
                    errors += 1
                    log.warning("beat not written: %s", e)
                clock.sleep(max(0.0, due - clock.monotonic()))
        except KeyboardInterrupt:
            log.info("heartbeat stopped")
    return HeartbeatResult(source, f"{ref.schema}.{ref.name}", database, beats, first, last, errors)

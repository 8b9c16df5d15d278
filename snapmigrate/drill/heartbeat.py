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
from typing import Any

from snapmigrate.aws import Aws
from snapmigrate.connectmap import ConnectMap
from snapmigrate.db.connect import connect, from_cluster
from snapmigrate.db.drill import beat, ensure_heartbeat
from snapmigrate.db.scope import TableRef
from snapmigrate.db.stats import write_counters
from snapmigrate.errors import SnapmigrateError
from snapmigrate.waiting import Clock

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
    aws: Aws,
    clock: Clock,
    source: str,
    ref: TableRef,
    *,
    database: str,
    period: timedelta,
    length: timedelta | None,
    connect_map: ConnectMap,
) -> HeartbeatResult:
    """Beat every ``period`` for ``length`` (None: until Ctrl-C, which ends it cleanly)."""
    endpoint = from_cluster(aws, source, "source")
    beats = errors = 0
    first = last = None
    started = clock.monotonic()
    with connect(endpoint, database, connect_map=connect_map) as conn:
        ensure_heartbeat(conn, ref.schema, ref.name)
        try:
            while length is None or clock.monotonic() - started < length.total_seconds():
                due = clock.monotonic() + period.total_seconds()
                try:
                    counters = write_counters(endpoint, connect_map=connect_map)
                    beat(conn, ref.schema, ref.name, counters)
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

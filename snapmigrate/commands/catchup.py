"""``status RUN_ID`` of a run with a logical catch-up: measured live, and ended
past its threshold (:func:`watch`).

A replication slot whose copy never comes keeps the source's WAL without
end; ``status`` is where an operator (or a cron job) looks between the
migration and the cutover, so it is also where the threshold is enforced:
past ``--max-retained-wal-gb`` the catch-up is ended (its slots dropped), the
one change ``status`` ever makes.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from snapmigrate.aws import Aws
from snapmigrate.commands.config import Config
from snapmigrate.connectmap import ConnectMap
from snapmigrate.errors import BadInput, SnapmigrateError
from snapmigrate.migrate import read_plan
from snapmigrate.migrate.catchup import (
    CatchUpDetails,
    Measure,
    end_run,
    endpoints_now,
    measure,
    over_limit,
    slots_of,
    with_measure,
)
from snapmigrate.workflow.journal import RunRecord, now

log = logging.getLogger(__name__)

#: The steps after which the run's slots exist, and before which the copy does not.
PUBLISHED, SUBSCRIBED = "publication", "subscription"


def _done(record: RunRecord, step: str) -> bool:
    try:
        return record.step(step).state == "done"
    except KeyError:
        return False


def watch(config: Config, record: RunRecord) -> RunRecord:
    """``record`` with its catch-up measured now -- or ended, past its threshold."""
    plan = read_plan(record.plan)
    spec = plan.target.catch_up
    if (
        not spec.logical
        or record.state == "cleaned"
        or CatchUpDetails.of(record).ended
        or not _done(record, PUBLISHED)
    ):
        return record
    aws = Aws.of(config.clients())
    cmap = ConnectMap.load(config.connect_map)
    try:
        source, _target = endpoints_now(aws, plan, record.run_id)
        if source is None:
            found = Measure("unknown", measured_at=now(), reason="the source is gone")
        else:
            found = measure(source, slots_of(record.run_id, spec.databases), connect_map=cmap)
    except SnapmigrateError as e:
        return with_measure(record, Measure("unknown", measured_at=now(), reason=str(e)))
    if found.state == "disconnected" and not _done(record, SUBSCRIBED):
        found = replace(
            found,
            state="pending",
            reason="the copy is not subscribed yet: the slots keep the source's WAL for it",
        )
    journal = config.journal()
    try:
        with journal.lock(record.run_id):
            record = journal.load(record.run_id)
            why = over_limit(found, spec.max_retained_wal_bytes)
            if why is not None:
                log.warning("ending the catch-up of run %s: %s", record.run_id, why)
                record, dropped = end_run(
                    aws, record, plan, f"aborted: {why}", aborted=True, connect_map=cmap
                )
                log.warning("dropped %s", ", ".join(dropped) or "nothing")
            else:
                record = with_measure(record, found)
            journal.save(record)
    except BadInput:  # the run is being applied: its process decides; show the measure
        return with_measure(record, found)
    return record

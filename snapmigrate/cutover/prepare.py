"""``cutover --prepare``: lower the record's TTL ahead of the cutover, so caches
hold the old answer no longer than the new TTL when it comes. Changes nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from snapmigrate.aws import route53
from snapmigrate.cutover.options import resolve_options
from snapmigrate.cutover.run import Cutover
from snapmigrate.cutover.state import CutoverOptions, CutoverState, Prepared, stamp
from snapmigrate.cutover.swap import swap_for
from snapmigrate.errors import BadInput
from snapmigrate.migrate import read_plan
from snapmigrate.records import Record
from snapmigrate.waiting import WaitPolicy

#: How long Route 53 may take to make the TTL change ``INSYNC``.
INSYNC_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class PrepareResult(Record):
    """The TTL lowered ahead of time."""

    record: str
    old_ttl: int
    new_ttl: int
    waited_s: float
    notes: tuple[str, ...] = field(default_factory=tuple)


def prepare_dns(cutover: Cutover, run_id: str, options: CutoverOptions, ttl: int) -> PrepareResult:
    """Lower the record's TTL to ``ttl`` and wait one old TTL, so caches hold the
    old answer no longer than ``ttl`` at cutover time. Changes nothing else."""
    record = cutover.journal.load(run_id)
    plan = read_plan(record.plan)
    options = resolve_options(options, plan.target.cutover, CutoverState())
    swap = swap_for(options.mode)
    if not 0 <= ttl <= 86400:
        raise BadInput("--ttl must be 0 to 86400 seconds")
    rec = swap.ttl_record(cutover.aws, options, plan.source.endpoint or "")
    if rec.ttl <= ttl:
        return PrepareResult(
            rec.name, rec.ttl, rec.ttl, 0.0, (f"TTL already {rec.ttl} s: nothing to do",)
        )
    change = route53.upsert(
        cutover.aws, rec, rec.value, ttl=ttl, comment=f"snapmigrate prepare {run_id}"
    )
    policy = WaitPolicy(timeout_s=INSYNC_TIMEOUT_S, first_delay_s=1.0, max_delay_s=10.0)
    cutover.waiter.wait(
        "Route 53 change INSYNC", lambda: route53.change_statuses(cutover.aws, [change]), policy
    )
    cutover.say(
        f"lowered the TTL of {rec.name} from {rec.ttl} s to {ttl} s; "
        "waiting one old TTL for caches to expire"
    )
    cutover.clock.sleep(rec.ttl)
    state = replace(CutoverState.of(record.cutover), prepared=Prepared(rec, ttl, stamp()))
    cutover.journal.save(replace(record, cutover=state.to_dict()))
    notes = (f"raise the TTL again after the cutover (it was {rec.ttl} s)",)
    return PrepareResult(rec.name, rec.ttl, ttl, float(rec.ttl), notes)

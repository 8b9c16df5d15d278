"""``snapmigrate drill``: disaster-recovery rehearsals. Each function takes a
:class:`Config` first, checks its input before any change, asks through
``confirm`` (None means ``--yes``) and returns records.

A drill's copy is a clone (``<state-dir>/clones/`` journals its creation)
tagged ``snapmigrate:drill=<id>``; the drill's evidence is appended to
``<state-dir>/drills/evidence.jsonl``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from snapmigrate.aws import Aws, Clients, RetryPolicy
from snapmigrate.clone.context import CloneSettings
from snapmigrate.clone.lease import parse_duration, utc_now
from snapmigrate.commands.clone import clone_runner
from snapmigrate.commands.config import Config, Confirm
from snapmigrate.db.scope import TableRef
from snapmigrate.drill import audit, evidence
from snapmigrate.drill.audit import AuditResult
from snapmigrate.drill.heartbeat import HeartbeatResult, run_heartbeat
from snapmigrate.drill.options import (
    DEFAULT_CHECKS,
    DEFAULT_HEARTBEAT,
    DrillOptions,
    check_options,
)
from snapmigrate.drill.result import DrillResult
from snapmigrate.drill.run import DrillRunner
from snapmigrate.plan.options import check_identifier
from snapmigrate.waiting import SystemClock
from snapmigrate.workflow.journal import check_run_id

__all__ = [
    "AuditResult",
    "DrillResult",
    "drill_audit",
    "drill_heartbeat",
    "drill_history",
    "drill_resume",
    "drill_run",
]


def drill_run(
    config: Config,
    source: str,
    *,
    from_: str = "latest-snapshot",
    check: str = DEFAULT_CHECKS,
    heartbeat: str | None = None,
    database: str = "postgres",
    inject: str | None = None,
    rpo_target: str | None = None,
    rto_target: str | None = None,
    keep: str | None = None,
    report: str | None = None,
    to_region: str | None = None,
    kms_key: str | None = None,
    settings: CloneSettings | None = None,
    confirm: Confirm | None = None,
) -> DrillResult:
    """Restore ``source``'s recovery point as a Serverless v2 copy, measure RTO and RPO,
    check the data, keep the evidence, tear the copy down. Exit 3 (by the caller, from
    ``result.exit_code``) when a check fails or a target is missed."""
    flags = {
        "from_": from_, "check": check, "heartbeat": heartbeat, "database": database,
        "inject": inject, "rpo_target": rpo_target, "rto_target": rto_target, "keep": keep,
        "report": report, "to_region": to_region, "kms_key": kms_key,
    }  # fmt: skip
    options = check_options(source, **flags)  # type: ignore[arg-type]
    return _drill_runner(config, options, settings).run(options, flags, confirm=confirm)


def drill_resume(
    config: Config, drill_id: str, *, settings: CloneSettings | None = None
) -> DrillResult:
    """Finish drill ``drill_id`` whose process died (killed, crashed): the same copy,
    t0 and options; torn down at the end as any drill."""
    record = evidence.load_record(config.state_dir, check_run_id(drill_id))
    options = check_options(str(record["source"]), **dict(record.get("flags") or {}))
    return _drill_runner(config, options, settings).resume(options, record)


def _drill_runner(
    config: Config, options: DrillOptions, settings: CloneSettings | None
) -> DrillRunner:
    """The source region's clone runner, and the target region's (``--to-region``)."""
    clones = clone_runner(config, settings)
    target = None
    if options.to_region and options.to_region != clones.aws.region:
        target = clone_runner(
            replace(config, _clients=_clients_in(config, options.to_region)), settings
        )
    return DrillRunner(clones, config.state_dir, target)


def drill_heartbeat(
    config: Config,
    source: str,
    *,
    table: str | None = None,
    database: str = "postgres",
    every: str = "5s",
    duration: str | None = None,
) -> HeartbeatResult:
    """Write a beat into ``source``'s heartbeat table every ``every``, with the source's
    per-table write counters, for ``duration`` (or until interrupted)."""
    source = check_identifier(source, "source cluster identifier")
    ref = TableRef.parse(table or DEFAULT_HEARTBEAT)
    period = parse_duration(every, "--every", minimum=timedelta(milliseconds=100))
    length = parse_duration(duration, "--duration") if duration else None
    cmap = config.check_connect_map()
    clock = config.clock or SystemClock()
    aws = Aws(config.clients(), policy=RetryPolicy(), sleep=clock.sleep)
    return run_heartbeat(
        aws, clock, source, ref, database=database, period=period, length=length,
        connect_map=cmap,
    )  # fmt: skip


def _clients_in(config: Config, region: str) -> Clients:
    """The clients of ``config`` (profile, endpoint), in another region."""
    return Clients(replace(config.clients().settings, region=region))


def drill_audit(
    config: Config, source: str, *, to_region: str | None = None, kms_key: str | None = None
) -> AuditResult:
    """Is ``source`` ready for a recovery (in ``to_region``)? Read-only: nothing is
    restored or created. ``result.blocked``: exit 4 (by the caller), as ``plan``."""
    source = check_identifier(source, "source cluster identifier")
    aws = Aws(config.clients(), policy=RetryPolicy())
    dest = None
    if to_region:
        dest = Aws(_clients_in(config, to_region), policy=RetryPolicy())
    facts = audit.read_facts(aws, dest, source, (config.now or utc_now)(), kms_key)
    return AuditResult(source, audit.findings(facts))


def drill_history(config: Config, source: str | None = None) -> list[dict[str, Any]]:
    """Past drills from the evidence file, oldest first."""
    return evidence.read_all(config.state_dir, source)

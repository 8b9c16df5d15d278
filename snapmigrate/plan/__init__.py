"""Make a plan: read the source (read-only), run the preflight, list the steps.

``plan`` prints what this returns; ``migrate`` applies it. One code path for both.
The parts: :mod:`.options` (what the user asked, checked before any AWS call),
:mod:`.discover` (what AWS says, read-only), :mod:`.facts` (AWS's documented
engine facts, the fallback), :mod:`.rules` and :mod:`.spec` (the preflight:
pure decisions), and the migration's steps planned from the result.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

from snapmigrate import migrate
from snapmigrate.aws import Aws, Clients
from snapmigrate.errors import BadInput, PreflightBlocked
from snapmigrate.model import Plan
from snapmigrate.plan import discover
from snapmigrate.plan.inplace import check_orderable, preflight_in_place
from snapmigrate.plan.options import PlanOptions, validate_options
from snapmigrate.plan.publisher import read_publisher
from snapmigrate.plan.rules import Inputs, input_blockers
from snapmigrate.plan.spec import preflight

log = logging.getLogger(__name__)


def make_plan(
    clients: Clients | Aws,
    source_id: str,
    options: PlanOptions,
    *,
    today: date | None = None,
    connect_map: str | None = None,
) -> Plan:
    """Inspect ``source_id`` and plan its move to ``options.target``. Changes nothing.

    With ``--catch-up logical`` the source's databases are read too (through
    ``connect_map``, else ``$SNAPMIGRATE_CONNECT_MAP``)."""
    options = validate_options(options, source_id)
    aws = Aws.of(clients)
    log.info("reading %s in %s", source_id, aws.region)
    source = discover.read_source(aws, source_id)
    snapshot = discover.read_snapshot(aws, options.snapshot) if options.snapshot else None
    catalog, note = discover.engine_catalog(aws, source.engine)
    name_state = discover.target_name_state(aws, options.target)
    publisher = read_publisher(aws, source, connect_map) if options.catch_up == "logical" else None
    zone_state = (
        discover.hosted_zone_state(aws, options.dns_zone_id, options.dns_name, source.endpoint)
        if options.dns_zone_id
        else None
    )
    decide = preflight_in_place if options.path == migrate.IN_PLACE else preflight
    spec, findings = decide(
        Inputs(
            source=source,
            options=options,
            snapshot=snapshot,
            name_state=name_state,
            zone_state=zone_state,
            catalog=catalog,
            facts_note=note,
            today=today or datetime.now(UTC).date(),
            publisher=publisher,
            region=aws.region,
        )
    )
    if options.path == migrate.IN_PLACE:
        offered = discover.serverless_offered(aws, spec.engine, spec.engine_version)
        findings = check_orderable(spec, offered, findings)
    return Plan(
        source=source,
        target=spec,
        findings=findings,
        steps=migrate.build(spec, source),
        region=aws.region,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def fail_if_blocked(plan: Plan) -> None:
    """Raise the error matching the plan's blocking findings (exit 2 for bad input, else 4)."""
    if not plan.blocked:
        return
    bad = input_blockers(plan.findings)
    if bad:
        raise BadInput(bad[0].message)
    first = next(f for f in plan.findings if f.level == "block")
    count = sum(f.level == "block" for f in plan.findings)
    raise PreflightBlocked(
        f"preflight blocked the plan ({count} blocking finding(s)); first: "
        f"[{first.code}] {first.message}"
    )

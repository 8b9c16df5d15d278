"""``snapmigrate lab demo --scenario catch-up``: the low-outage cutover of a
database in use, with ``--catch-up logical``.

up -> seed a provisioned cluster -> plan (--catch-up logical --prepare-source
--replica-identity-full, --cutover dns) -> migrate while an application writes
through the DNS record (the source is never frozen; its writer reboots once,
for --prepare-source) -> status (lag, WAL held) -> cutover (drain, sequences,
only what changed verified, swap, prove, the catch-up ended) -> summary -> down.
The stages share :mod:`snapmigrate_lab.demo_runner`'s context and runner and
:mod:`snapmigrate_lab.demo`'s first and last stages and cutover.
"""

from __future__ import annotations

import time

from snapmigrate.errors import OperationFailed, PreflightBlocked
from snapmigrate_lab.demo import DOWN, SUMMARY, UP, _app_endpoint, _muted, stage_cutover
from snapmigrate_lab.demo_runner import DemoContext, Stage


def stage_seed(ctx: DemoContext) -> str:
    result = ctx.lab.seed("provisioned", scale=ctx.scale)
    ctx.seed, ctx.source = result, result.cluster_id
    ctx.details["seed"] = result.to_dict()
    ctx.environ.update(ctx.lab.env())
    rows = sum(result.tables.values())
    return (
        f"provisioned cluster {result.cluster_id} (aurora-postgresql {result.engine_version} on "
        f"PostgreSQL {result.server_version}): {len(result.tables)} tables, {rows:,} rows; "
        f"{result.dns_record} -> its writer endpoint"
    )


def stage_plan(ctx: DemoContext) -> str:
    from snapmigrate.plan import make_plan
    from snapmigrate.plan.options import PlanOptions
    from snapmigrate.report import plan as plan_report

    assert ctx.seed is not None
    options = PlanOptions(
        target=ctx.target,
        cutover="dns",
        dns_zone_id=ctx.seed.dns_zone_id,
        dns_name=ctx.seed.dns_record,
        catch_up="logical",
        prepare_source=True,
        replica_identity_full=True,
    )
    plan = make_plan(ctx.lab.clients(), ctx.source, options)
    ctx.plan = plan
    ctx.details["plan"] = plan.to_dict()
    ctx.show(plan_report.table(plan))
    if plan.blocked:
        raise PreflightBlocked(f"the plan of {ctx.source} -> {ctx.target} is blocked")
    catch_up = [f.code for f in plan.findings if f.code.startswith("catch-up")]
    return f"{ctx.source} -> {ctx.target}: {len(plan.steps)} steps, {len(catch_up)} catch-up checks"


def stage_migrate(ctx: DemoContext) -> str:
    """``snapmigrate migrate`` of that plan while an application writes through the DNS record."""
    from snapmigrate import loadgen
    from snapmigrate.connectmap import ConnectMap
    from snapmigrate.migrate.context import RunSettings
    from snapmigrate.migrate.runner import Runner
    from snapmigrate.waiting import progress_for
    from snapmigrate.workflow.journal import Journal

    if ctx.plan is None or ctx.seed is None:
        raise OperationFailed("no plan to apply (the plan stage did not run)")
    app = _app_endpoint(ctx)
    cmap = ConnectMap.load(ctx.lab.connect_map_path)
    loadgen.ensure_table(app, ctx.seed.database, connect_map=cmap)
    ctx.load = loadgen.LoadRun(
        app, ctx.seed.database, loadgen.LoadOptions(workers=2, rate_per_worker=25), connect_map=cmap
    ).start()
    ctx.progress(f"    an application now writes through {ctx.seed.dns_record} (50 commits/s)")
    time.sleep(1.0)
    runner = Runner(
        ctx.lab.clients(),
        Journal(ctx.state_dir),
        settings=RunSettings(
            connect=True,
            connect_map=str(ctx.lab.connect_map_path),
            first_delay_s=0.2,
            max_delay_s=1.0,
        ),
        progress=ctx.wait_progress or progress_for(quiet=True),
    )
    with _muted("snapmigrate.migrate.dataplane", unless=ctx.verbose):
        result = runner.start(ctx.plan)
    ctx.run = result
    steps = ", ".join(f"{s.name} {s.state}" for s in result.record.steps)
    gaps = [w for w in ctx.load.result.windows if w.errors]
    seen = (
        f"the application's only errors were the writer's reboot ({sum(w.errors for w in gaps)} "
        f"over {max(w.seconds for w in gaps):.1f} s)"
        if gaps
        else "the application saw no error"
    )
    return f"run {result.run_id} {result.record.state} ({steps}); {ctx.source} never frozen: {seen}"


def stage_status(ctx: DemoContext) -> str:
    """``snapmigrate status RUN_ID``: the catch-up measured now."""
    from snapmigrate import commands
    from snapmigrate.report import run as run_report

    if ctx.run is None:
        raise OperationFailed("no run to look at (the migrate stage did not run)")
    config = commands.Config.from_options(
        state_dir=str(ctx.state_dir),
        connect_map=str(ctx.lab.connect_map_path),
        clients=ctx.lab.clients(),
    )
    record = commands.status(config, ctx.run.run_id)
    assert not isinstance(record, list)
    line = run_report.catch_up_line(record) or "no catch-up"
    ctx.details["catch_up"] = run_report.status_dict(record).get("catch_up")
    return line


#: The scenario, in order.
STAGES: list[Stage] = [
    UP,
    Stage("seed", "create a provisioned Aurora PostgreSQL cluster with data", stage_seed),
    Stage("plan", "plan the move with --catch-up logical (changes nothing)", stage_plan),
    Stage(
        "migrate",
        "publish, snapshot, restore as Serverless v2, subscribe from the snapshot's LSN, verify",
        stage_migrate,
    ),
    Stage("status", "the catch-up: lag and the source's WAL its slots hold", stage_status),
    Stage(
        "cutover",
        "freeze, drain, sequences, verify what changed, swap the DNS record, prove; no write lost",
        stage_cutover,
    ),
    SUMMARY,
    DOWN,
]

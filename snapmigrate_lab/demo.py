"""``snapmigrate lab demo``: the whole migration on a laptop, as an ordered list of stages.

up -> seed a v1 cluster -> plan -> migrate (frozen before the snapshot, an
application writing through the DNS record) -> verify -> cutover (DNS, then the
application's commits checked for loss) -> summary -> down. Each stage is a
function of the shared :class:`~snapmigrate_lab.demo_runner.DemoContext`
returning a one-line summary, run by :func:`~snapmigrate_lab.demo_runner.run_stages`
(in an environment stripped of the user's AWS, libpq and proxy settings; ``down``
always runs). The migration stages call the same library functions as
``snapmigrate plan``/``migrate``/``verify``. ``up``, ``summary``, ``down`` and the
cutover serve the catch-up scenario (:mod:`snapmigrate_lab.demo_catchup`) too.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Sequence
from typing import Any

from snapmigrate.errors import BadInput, DifferencesFound, OperationFailed, PreflightBlocked
from snapmigrate_lab.demo_runner import (
    Created,
    DemoContext,
    DemoResult,
    InstanceInfo,
    Stage,
    StageSkipped,
    run_stages,
)

# -- the stages ---------------------------------------------------------------------


def stage_up(ctx: DemoContext) -> str:
    if ctx.lab.is_running():
        raise BadInput(
            f"a lab is already running in {ctx.lab.dir}: "
            "the demo needs its own; give another --dir "
            f"(or stop that one with 'snapmigrate lab down --dir {ctx.lab.dir}')"
        )
    ctx.started_lab = True  # from here on, down has something to clean up ...
    try:
        st = ctx.lab.up()
    except BadInput:
        ctx.started_lab = False  # ... except when up refused the directory before starting anything
        raise
    ctx.environ.update(ctx.lab.env())
    return f"AWS API (moto) on {st.endpoint_url}, lab directory {st.dir}"


def stage_seed(ctx: DemoContext) -> str:
    result = ctx.lab.seed("v1", scale=ctx.scale)
    ctx.seed, ctx.source = result, result.cluster_id
    ctx.details["seed"] = result.to_dict()
    ctx.environ.update(ctx.lab.env())  # now with the DNS record
    rows = sum(result.tables.values())
    if result.postgres_warning:
        ctx.progress(f"    WARNING: {result.postgres_warning}")
    warned = ", WARNING: not its major" if result.postgres_warning else ""
    return (
        f"Aurora Serverless v1 cluster {result.cluster_id} (aurora-postgresql "
        f"{result.engine_version} on PostgreSQL {result.server_version}{warned}): "
        f"{len(result.tables)} tables, {rows:,} rows in database {result.database}; "
        f"{result.dns_record} -> its writer endpoint"
    )


def stage_plan(ctx: DemoContext) -> str:
    from snapmigrate.plan import make_plan
    from snapmigrate.plan.options import PlanOptions
    from snapmigrate.report import plan as plan_report

    seed = ctx.seed
    options = PlanOptions(
        target=ctx.target,
        readers=1,
        cutover="dns",
        dns_zone_id=seed.dns_zone_id if seed else None,
        dns_name=seed.dns_record if seed else None,
    )
    plan = make_plan(ctx.lab.clients(), ctx.source, options)
    ctx.plan = plan
    ctx.details["plan"] = plan.to_dict()
    ctx.show(plan_report.table(plan))
    warns = sum(f.level == "warn" for f in plan.findings)
    blocks = sum(f.level == "block" for f in plan.findings)
    if plan.blocked:
        raise PreflightBlocked(
            f"the plan of {ctx.source} -> {ctx.target} has {blocks} blocking finding(s)"
        )
    return (
        f"{ctx.source} -> {ctx.target}: "
        f"{len(plan.steps)} steps, {warns} warning(s), {blocks} blocking"
    )


def _app_endpoint(ctx: DemoContext) -> Any:
    """How the seeded application reaches its database: the DNS record, the master
    login (pgpass)."""
    from snapmigrate.db.connect import Endpoint

    assert ctx.seed is not None and ctx.seed.dns_record
    return Endpoint("application", ctx.seed.dns_record, 5432, user=ctx.seed.user)


def stage_migrate(ctx: DemoContext) -> str:
    """``snapmigrate migrate --freeze-before-snapshot --yes`` while an application
    writes through the DNS record: the runner, journaled in the lab."""
    from snapmigrate import loadgen
    from snapmigrate.connectmap import ConnectMap
    from snapmigrate.migrate.context import RunSettings
    from snapmigrate.migrate.freeze import SourceFreezer
    from snapmigrate.migrate.runner import Runner
    from snapmigrate.waiting import progress_for
    from snapmigrate.workflow.journal import Journal

    if ctx.plan is None:
        raise OperationFailed("no plan to apply (the plan stage did not run)")
    if ctx.seed is not None and ctx.seed.dns_record:
        app = _app_endpoint(ctx)
        cmap = ConnectMap.load(ctx.lab.connect_map_path)
        loadgen.ensure_table(app, ctx.seed.database, connect_map=cmap)
        ctx.load = loadgen.LoadRun(
            app,
            ctx.seed.database,
            loadgen.LoadOptions(workers=2, rate_per_worker=25),
            connect_map=cmap,
        ).start()
        ctx.progress(
            f"    an application now writes through {ctx.seed.dns_record} "
            "(2 connections, 50 commits/s)"
        )
        time.sleep(1.0)
    runner = Runner(
        ctx.lab.clients(),
        Journal(ctx.state_dir),
        settings=RunSettings(
            connect=True,
            connect_map=str(ctx.lab.connect_map_path),
            first_delay_s=0.5,
            max_delay_s=2.0,
            freeze_before_snapshot=True,
        ),
        progress=ctx.wait_progress or progress_for(quiet=True),
        freezer=SourceFreezer(),
    )
    # The verify stage prints every table; the run's own verify step says one line.
    with (
        _muted("snapmigrate.migrate.dataplane", unless=ctx.verbose),
        _muted("snapmigrate.migrate.freeze", unless=ctx.verbose),
    ):
        result = runner.start(ctx.plan)
    ctx.run = result
    record = result.record
    steps = ", ".join(f"{s.name} {s.state}" for s in record.steps)
    return (
        f"run {record.run_id} {record.state} ({steps}); "
        f"{ctx.source} read-only since before the snapshot; journal {ctx.state_dir}"
    )


def stage_verify(ctx: DemoContext) -> str:
    """``snapmigrate verify --source <seed> --target <new>``, checksums and all."""
    from snapmigrate.connectmap import ConnectMap
    from snapmigrate.db.connect import from_cluster
    from snapmigrate.db.verify import VerifyOptions, verify
    from snapmigrate.report import verify as verify_report

    clients = ctx.lab.clients()
    result = verify(
        from_cluster(clients, ctx.source, "source"),
        from_cluster(clients, ctx.target, "target"),
        VerifyOptions(mode="checksum"),
        connect_map=ConnectMap.load(ctx.lab.connect_map_path),
    )
    ctx.verification = result
    ctx.show(verify_report.table(result))
    rows = sum(t.source_rows or 0 for t in result.tables)
    if not result.equal:
        raise DifferencesFound(
            f"{ctx.target} differs from {ctx.source}: {len(result.differing_tables)} table(s), "
            f"{len(result.schema_differences)} schema difference(s), {len(result.errors)} error(s)"
        )
    return (
        f"equal: {len(result.tables)} tables, {rows:,} rows, "
        f"schema and checksums ({result.elapsed_s:.2f} s)"
    )


def stage_cutover(ctx: DemoContext) -> str:
    """``snapmigrate cutover RUN_ID --mode dns`` through the seeded record, then
    the application's committed transactions checked on the cluster now live."""
    from snapmigrate import loadgen
    from snapmigrate.connectmap import ConnectMap
    from snapmigrate.cutover import Cutover, CutoverOptions
    from snapmigrate.report import cutover as cutover_report
    from snapmigrate.workflow.journal import Journal

    if ctx.run is None or ctx.seed is None or not ctx.seed.dns_zone_id:
        raise StageSkipped("not run: no migration run (or no DNS record) to cut over")
    options = CutoverOptions(
        mode="dns", zone_id=ctx.seed.dns_zone_id, record_name=ctx.seed.dns_record
    )
    with _muted("snapmigrate.cutover", unless=ctx.verbose):
        result = Cutover(
            ctx.lab.clients(), Journal(ctx.state_dir), connect_map=str(ctx.lab.connect_map_path)
        ).run(ctx.run.run_id, options)
    data = result.to_dict()
    ctx.show(cutover_report.table(data))
    ctx.details["cutover"] = data
    line = (
        f"{ctx.seed.dns_record} -> {ctx.target}; writes unavailable {data['unavailable_s']:.2f} s"
    )
    if ctx.load is not None:
        time.sleep(1.0)  # the application goes on writing, now on the new cluster
        seen = ctx.load.stop_and_collect()
        ctx.load = None
        check = loadgen.check_committed(
            _app_endpoint(ctx),
            ctx.seed.database,
            seen.committed,
            connect_map=ConnectMap.load(ctx.lab.connect_map_path),
        )
        ctx.details["load"] = {**seen.to_dict(), "check": check.to_dict()}
        if check.lost:
            raise DifferencesFound(
                f"{check.lost} of {check.committed} committed transactions "
                "are missing after the cutover"
            )
        line += (
            f"; the application committed {check.committed} transactions "
            f"during the migration and cutover, {check.lost} lost "
            f"(longest gap between its commits {seen.longest_unavailability_s:.2f} s)"
        )
    return line


def stage_summary(ctx: DemoContext) -> str:
    """Read back from AWS what the run created, while the lab is still up."""
    from snapmigrate.aws.rds import find_cluster as describe_cluster
    from snapmigrate.aws.rds import list_instances as describe_instances

    clients = ctx.lab.clients()
    cluster = describe_cluster(clients, ctx.target)
    if cluster is None:
        raise OperationFailed(f"the target cluster {ctx.target} is not in the lab's AWS")
    writers = {
        m["DBInstanceIdentifier"]: bool(m.get("IsClusterWriter"))
        for m in cluster.get("DBClusterMembers", [])
    }
    instances = [
        InstanceInfo(
            i["DBInstanceIdentifier"],
            i["DBInstanceClass"],
            "writer" if writers.get(i["DBInstanceIdentifier"]) else "reader",
            i["DBInstanceStatus"],
        )
        for i in describe_instances(clients, ctx.target)
    ]
    instances.sort(key=lambda i: (i.role != "writer", i.identifier))
    v2 = cluster.get("ServerlessV2ScalingConfiguration") or {}
    snapshot = None
    if ctx.run is not None:
        with contextlib.suppress(KeyError):
            snapshot = ctx.run.record.step("snapshot").resources.get("snapshot")
    ctx.created = Created(
        cluster=ctx.target,
        status=cluster.get("Status", "?"),
        engine_version=cluster.get("EngineVersion", "?"),
        engine_mode=cluster.get("EngineMode", "provisioned"),
        scaling=f"{v2.get('MinCapacity', 0):g}-{v2.get('MaxCapacity', 0):g} ACU" if v2 else "none",
        instances=tuple(instances),
        snapshot=snapshot,
    )
    classes = sorted({i.instance_class for i in instances})
    return (
        f"{ctx.target} {ctx.created.status}: {ctx.created.engine_mode}, "
        f"Serverless v2 {ctx.created.scaling}, "
        f"{len(instances)} instance(s) ({', '.join(classes) or 'none'})"
    )


def stage_down(ctx: DemoContext) -> str:
    if ctx.load is not None:  # a stage failed while the application wrote: stop it first
        ctx.load.stop_and_collect()
        ctx.load = None
    if not ctx.started_lab:
        return "nothing to take down: the demo started no lab"
    if ctx.keep:
        ctx.details["env"] = ctx.lab.env()
        return f"lab left running in {ctx.lab.dir} (--keep)"
    result = ctx.lab.down()
    return (
        f"stopped the lab and removed {result.dir}"
        if result.removed
        else f"stopped the lab; {result.dir} remains"
    )


#: The stages every scenario shares: first, and the last two.
UP = Stage("up", "start the local Aurora (moto + PostgreSQL)", stage_up)
SUMMARY = Stage("summary", "read back what the migration created", stage_summary)
DOWN = Stage("down", "stop the lab and remove its directory", stage_down, always=True)

#: The demo, in order.
STAGES: list[Stage] = [
    UP,
    Stage("seed", "create an Aurora Serverless v1 cluster with data", stage_seed),
    Stage("plan", "plan the move to Serverless v2 (changes nothing)", stage_plan),
    Stage(
        "migrate",
        "freeze writes, snapshot, restore as Serverless v2, db.serverless instances, verify",
        stage_migrate,
    ),
    Stage("verify", "compare source and target, table by table", stage_verify),
    Stage(
        "cutover",
        "guardrails, catch-up, verify, swap the DNS record, prove; no write lost",
        stage_cutover,
    ),
    SUMMARY,
    DOWN,
]


def run_demo(ctx: DemoContext, stages: Sequence[Stage] | None = None) -> DemoResult:
    """The demo: its stages (the freeze scenario's unless ``stages`` are given) run in order."""
    return run_stages(ctx, stages if stages is not None else STAGES)


@contextlib.contextmanager
def _muted(name: str, *, unless: bool) -> Iterator[None]:
    """Raise one logger's level to WARNING for a while (not when ``unless``)."""
    logger = logging.getLogger(name)
    level = logger.level
    if not unless:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)

"""The target the preflight decides: versions, the Serverless v2 range, the
instances, what settings are carried -- :func:`preflight` runs every rule
(:mod:`.rules`) and returns the :class:`TargetSpec` with the findings.
Pure: no AWS and no PostgreSQL.
"""

from __future__ import annotations

from snapmigrate.model import (
    CatchUpSpec,
    EngineFacts,
    Finding,
    InstanceSpec,
    SourceCluster,
    TargetSpec,
    V2Scaling,
)
from snapmigrate.plan import versions
from snapmigrate.plan.catchup import check_catch_up
from snapmigrate.plan.options import AUTO_PAUSE_RANGE
from snapmigrate.plan.rules import (
    Findings,
    Inputs,
    check_cutover,
    check_data_api,
    check_encryption,
    check_engine,
    check_extended_support,
    check_extras,
    check_snapshot,
    check_source,
    check_target_name,
)
from snapmigrate.plan.versions import VersionChoice

SERVERLESS = "db.serverless"

#: Memory (GiB) of common Aurora instance classes, to size v2 from provisioned.
_CLASS_MEMORY_GIB = {
    "medium": 4,
    "large": 16,
    "xlarge": 32,
    "2xlarge": 64,
    "4xlarge": 128,
    "8xlarge": 256,
    "12xlarge": 384,
    "16xlarge": 512,
    "24xlarge": 768,
}


def map_scaling(inp: Inputs, target: EngineFacts, f: Findings) -> V2Scaling:
    """The Serverless v2 range: from the user, else from the v1 scaling / instances."""
    src, opts = inp.source, inp.options
    floor, ceiling = target.min_capacity_floor, target.max_capacity_ceiling
    pause: int | None = None
    basis: str
    if src.v1_scaling is not None:
        v1 = src.v1_scaling
        lo, hi = float(v1.min_capacity), float(v1.max_capacity)
        basis = f"v1 range {v1.min_capacity}-{v1.max_capacity} ACU"
        if v1.auto_pause:
            seconds = v1.seconds_until_auto_pause or 300
            if target.auto_pause:
                lo = 0.0
                pause = min(max(seconds, AUTO_PAUSE_RANGE[0]), AUTO_PAUSE_RANGE[1])
                f.add(
                    "ok",
                    "acu-auto-pause",
                    f"v1 auto-pause after {seconds} s becomes a 0 ACU minimum with "
                    f"SecondsUntilAutoPause={pause}",
                )
            else:
                lo = 0.5
                f.add(
                    "warn",
                    "acu-auto-pause",
                    f"v1 paused after {seconds} s idle; {target.engine} {target.version} cannot "
                    "scale to 0 ACU (needs 13.15+, 14.12+, 15.7+, 16.3+): minimum set to 0.5 ACU, "
                    "which is billed while idle. Use --engine-version with auto-pause support to "
                    "keep pausing",
                )
        if hi > ceiling:
            f.add(
                "warn",
                "acu-max-capped",
                f"v1 maximum {v1.max_capacity} ACU is above the v2 maximum of {ceiling:g} ACU for "
                f"{target.version}: capped at {ceiling:g} (a v2 ACU is comparable to a v1 ACU)",
            )
            hi = ceiling
    elif src.v2_scaling is not None:
        lo, hi = src.v2_scaling.min_capacity, src.v2_scaling.max_capacity
        pause = src.v2_scaling.seconds_until_auto_pause
        basis = "the source's Serverless v2 range"
    else:
        sized = _acu_for_instances(src)
        basis = f"the writer's memory ({_writer_class(src) or 'unknown class'})"
        if sized is None:
            sized = 16.0
            basis = "a default (unknown instance class)"
            f.add(
                "warn",
                "acu-range",
                "could not size from the source's instances: --max-acu 16 assumed; set it",
            )
        hi = min(sized, ceiling)
        lo = max(0.5, hi / 8)
        lo = round(lo * 2) / 2
    if opts.min_acu is not None:
        if opts.min_acu < floor:
            f.add(
                "block",
                "acu-input",
                f"--min-acu {opts.min_acu:g} needs automatic pause, which {target.engine} "
                f"{target.version} does not have (minimum {floor:g}); use 0.5 or a newer "
                "--engine-version",
            )
        lo = opts.min_acu
        basis = "--min-acu" if opts.max_acu is None else "--min-acu/--max-acu"
        if lo == 0 and pause is None:
            pause = opts.seconds_until_auto_pause or 300
    if opts.max_acu is not None:
        if opts.max_acu > ceiling:
            f.add(
                "block",
                "acu-input",
                f"--max-acu {opts.max_acu:g} is above {ceiling:g}, the most {target.engine} "
                f"{target.version} allows; lower it or choose a newer --engine-version",
            )
        hi = opts.max_acu
        basis = "--max-acu" if opts.min_acu is None else basis
    if opts.seconds_until_auto_pause is not None and lo == 0:
        pause = opts.seconds_until_auto_pause
    if lo > hi:
        # Only one side was given and it crossed the derived other side.
        if opts.min_acu is not None:
            hi = min(ceiling, lo)
        else:
            lo = hi
    if lo > 0:
        pause = None
    scaling = V2Scaling(min_capacity=lo, max_capacity=hi, seconds_until_auto_pause=pause)
    f.add("ok", "acu-range", f"Serverless v2 range {lo:g}-{hi:g} ACU (from {basis})")
    return scaling


def _writer_class(src: SourceCluster) -> str | None:
    writers = [i for i in src.instances if i.is_writer] or list(src.instances)
    return writers[0].instance_class if writers else None


def _acu_for_instances(src: SourceCluster) -> float | None:
    cls = _writer_class(src)
    if not cls:
        return None
    size = cls.rsplit(".", 1)[-1]
    gib = _CLASS_MEMORY_GIB.get(size)
    if gib is None:
        return None
    if cls.startswith("db.t") and size == "large":
        gib = 8
    return float(max(1, gib // 2))


def plan_log_exports(inp: Inputs, f: Findings) -> tuple[str, ...]:
    if inp.options.log_exports is not None:
        exports = inp.options.log_exports
        f.add(
            "ok", "log-exports", f"CloudWatch Logs exports as asked: {', '.join(exports) or 'none'}"
        )
        return exports
    if inp.source.kind == "serverless-v1":
        f.add(
            "warn",
            "log-exports",
            "v1 sent the postgresql log to CloudWatch Logs by itself; a provisioned cluster "
            "exports only "
            "what EnableCloudwatchLogsExports names: 'postgresql' is planned (--log-exports to "
            "change)",
        )
        return ("postgresql",)
    exports = inp.source.cloudwatch_logs_exports
    f.add("ok", "log-exports", f"CloudWatch Logs exports carried: {', '.join(exports) or 'none'}")
    return exports


def plan_parameter_group(
    inp: Inputs, target: EngineFacts, restore_version: str, f: Findings
) -> str | None:
    src = inp.source
    if inp.options.parameter_group:
        f.add(
            "ok",
            "parameter-group",
            f"cluster parameter group {inp.options.parameter_group} as asked",
        )
        return inp.options.parameter_group
    group = src.parameter_group
    if not group or group.startswith("default."):
        f.add(
            "ok",
            "parameter-group",
            f"the default cluster parameter group of {target.parameter_group_family}",
        )
        return None
    if src.parameter_group_family is None:
        f.add(
            "warn",
            "parameter-group",
            f"custom group {group} could not be read: the target uses the default group; "
            "pass --db-cluster-parameter-group to choose",
        )
        return None
    if src.parameter_group_family != target.parameter_group_family:
        f.add(
            "warn",
            "parameter-group",
            f"custom group {group} is family {src.parameter_group_family}, the target needs "
            f"{target.parameter_group_family}: the target uses the default group. Create a "
            f"{target.parameter_group_family} group with the same settings and pass "
            "--db-cluster-parameter-group",
        )
        return None
    f.add("ok", "parameter-group", f"custom cluster parameter group {group} carried")
    return group


def plan_instances(inp: Inputs, major_upgrade: bool, f: Findings) -> tuple[InstanceSpec, ...]:
    target, readers = inp.options.target, inp.options.readers
    azs = list(inp.source.availability_zones)
    writer_az = next((i.availability_zone for i in inp.source.instances if i.is_writer), None)
    if writer_az in azs:
        azs.remove(writer_az)
        azs.insert(0, writer_az)

    def az(n: int) -> str | None:
        return azs[n % len(azs)] if azs else None

    specs = []
    if major_upgrade:
        specs.append(
            InstanceSpec(f"{target}-bridge", inp.options.bridge_instance_class, az(0), 15, "bridge")
        )
    specs.append(InstanceSpec(f"{target}-writer", SERVERLESS, az(0), 0, "writer"))
    specs += [
        InstanceSpec(f"{target}-reader-{n}", SERVERLESS, az(n), 1, "reader")
        for n in range(1, readers + 1)
    ]
    if not azs:
        f.add("warn", "readers", "the source lists no availability zones: AWS places the instances")
    elif readers + 1 > len(azs):
        f.add(
            "warn",
            "readers",
            f"{readers + 1} instances over {len(azs)} availability zones: some share a zone",
        )
    else:
        where = ", ".join(
            f"{s.identifier} in {s.availability_zone}" for s in specs if s.role != "bridge"
        )
        f.add(
            "ok",
            "readers",
            f"one db.serverless writer and {readers} reader(s), each in its own zone: {where}",
        )
    return tuple(specs)


def target_versions(inp: Inputs) -> VersionChoice:
    """The restore and final versions for this source (or its given snapshot)."""
    base = inp.snapshot.engine_version if inp.snapshot else inp.source.engine_version
    opts = inp.options
    return versions.choose(inp.source.engine, base, opts.engine_version, inp.catalog, inp.today)


def preflight(inp: Inputs) -> tuple[TargetSpec, tuple[Finding, ...]]:
    """Run every rule; the target spec and the findings (ok, warn, block)."""
    f = Findings()
    src, opts = inp.source, inp.options
    check_source(inp, f)
    choice = target_versions(inp)
    restore_version, version = choice.restore_version, choice.version
    if choice.problem:
        f.add("block", "engine-version-input", choice.problem)
    target = versions.facts_for(inp.catalog, src.engine, version)
    check_engine(inp, target, choice, f)
    check_snapshot(inp, restore_version, f)
    scaling = map_scaling(inp, target, f)
    check_encryption(inp, f)
    http = check_data_api(inp, target, f)
    exports = plan_log_exports(inp, f)
    group = plan_parameter_group(inp, target, restore_version, f)
    check_extended_support(inp, target, choice, f)
    check_target_name(inp, f)
    instances = plan_instances(inp, choice.major_upgrade, f)
    cutover = check_cutover(inp, f)
    performance_insights = (
        opts.performance_insights
        if opts.performance_insights is not None
        else src.performance_insights
    )
    check_extras(inp, scaling, performance_insights, f)
    catch_up = (
        check_catch_up(inp, restore_version, choice.major_upgrade, f)
        if opts.catch_up == "logical"
        else CatchUpSpec()
    )
    tags = {k: v for k, v in src.tags.items() if not k.startswith(("aws:", "snapmigrate:"))}
    tags.update(opts.tags)
    spec = TargetSpec(
        identifier=opts.target,
        engine=src.engine,
        engine_version=version,
        restore_version=restore_version,
        scaling=scaling,
        instances=instances,
        snapshot_identifier=opts.snapshot,
        kms_key_id=opts.kms_key_id,
        subnet_group=src.subnet_group,
        security_group_ids=src.security_group_ids,
        parameter_group=group,
        port=src.port,
        deletion_protection=src.deletion_protection,
        backup_retention_period=src.backup_retention_period,
        iam_auth=src.iam_auth,
        copy_tags_to_snapshot=src.copy_tags_to_snapshot,
        cloudwatch_logs_exports=exports,
        enable_http_endpoint=http,
        manage_master_user_password=bool(src.master_user_secret_arn)
        or opts.manage_master_user_password,
        performance_insights=performance_insights,
        engine_lifecycle_support=opts.engine_lifecycle_support,
        tags=tags,
        cutover=cutover,
        catch_up=catch_up,
    )
    return spec, tuple(f.items)

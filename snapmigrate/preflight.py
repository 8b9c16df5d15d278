"""The preflight: from what the source is and what the user asked, decide what
the target will be and say what is ok, what to watch and what blocks.

Everything here is pure: records in, records out, no AWS and no PostgreSQL.
:func:`validate_options` rejects bad input before any AWS call;
:func:`preflight` runs the rules and builds the :class:`TargetSpec`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from snapmigrate import facts
from snapmigrate.cutover import swap
from snapmigrate.discover import NameState, ZoneState
from snapmigrate.errors import BadInput
from snapmigrate.model import (
    CutoverSpec,
    EngineFacts,
    Finding,
    InstanceSpec,
    Level,
    Snapshot,
    SourceCluster,
    TargetSpec,
    V2Scaling,
)

SERVERLESS = "db.serverless"
MAX_READERS = 15
#: Instance names are ``<target>-reader-NN``; keep them within RDS's 63 characters.
MAX_TARGET_LENGTH = 63 - len("-reader-15")
AUTO_PAUSE_RANGE = (300, 86400)
LIFECYCLES = (facts.EXTENDED_SUPPORT, facts.EXTENDED_SUPPORT_DISABLED)

#: Codes whose ``block`` means the input was wrong (exit 2) rather than the
#: source or account not being ready (exit 4).
INPUT_CODES = frozenset(
    {"engine-version-input", "acu-input", "target-name", "snapshot", "cutover"}
)

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9-]{0,62}$")

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


@dataclass(frozen=True)
class PlanOptions:
    """What the user asked for on the command line (or in a plan file)."""

    target: str
    min_acu: float | None = None
    max_acu: float | None = None
    seconds_until_auto_pause: int | None = None
    readers: int = 0
    snapshot: str | None = None
    engine_version: str | None = None
    kms_key_id: str | None = None
    parameter_group: str | None = None
    engine_lifecycle_support: str | None = None
    manage_master_user_password: bool = False
    performance_insights: bool | None = None
    log_exports: tuple[str, ...] | None = None
    bridge_instance_class: str = "db.r6g.large"
    cutover: str = "none"
    dns_zone_id: str | None = None
    dns_name: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


# -- input validation (no AWS) -------------------------------------------------


def check_identifier(name: str, what: str = "target cluster identifier") -> str:
    """RDS identifier rules; returns the name lowercased (as RDS stores it)."""
    lowered = name.lower()
    problems = []
    if not 1 <= len(lowered) <= 63:
        problems.append("must be 1 to 63 characters")
    if not re.fullmatch(r"[a-z0-9-]*", lowered):
        problems.append("may hold only letters, digits and hyphens")
    elif lowered and not lowered[0].isalpha():
        problems.append("must start with a letter")
    if "--" in lowered:
        problems.append("must not contain two hyphens in a row")
    if lowered.endswith("-"):
        problems.append("must not end with a hyphen")
    if problems:
        raise BadInput(f"{what} {name!r} is invalid: it {', and '.join(problems)}")
    return lowered


def _check_acu(value: float | None, flag: str) -> None:
    if value is None:
        return
    if value < 0 or value > 256:
        raise BadInput(f"{flag} {value:g} is out of range: Serverless v2 capacity is 0 to 256 ACU")
    if (value * 2) != int(value * 2):
        raise BadInput(f"{flag} {value:g} is not a multiple of 0.5 ACU: use e.g. {round(value * 2) / 2:g}")


def validate_options(opts: PlanOptions, source_id: str) -> PlanOptions:
    """Reject bad input with a one-line message (exit 2) before any AWS call."""
    check_identifier(source_id, "source cluster identifier")
    target = check_identifier(opts.target)
    if len(target) > MAX_TARGET_LENGTH:
        raise BadInput(
            f"target cluster identifier {opts.target!r} is {len(target)} characters: at most "
            f"{MAX_TARGET_LENGTH}, so that its instances ('{target[:8]}...-reader-1') fit RDS's 63"
        )
    if target == source_id.lower():
        raise BadInput("--target must differ from the source: the restore creates a new cluster")
    _check_acu(opts.min_acu, "--min-acu")
    _check_acu(opts.max_acu, "--max-acu")
    if opts.max_acu is not None and opts.max_acu < 1:
        raise BadInput(f"--max-acu {opts.max_acu:g} is too low: Serverless v2 needs a maximum of at least 1 ACU")
    if opts.min_acu is not None and opts.max_acu is not None and opts.min_acu > opts.max_acu:
        raise BadInput(f"--min-acu {opts.min_acu:g} is above --max-acu {opts.max_acu:g}")
    if opts.seconds_until_auto_pause is not None:
        lo, hi = AUTO_PAUSE_RANGE
        if not lo <= opts.seconds_until_auto_pause <= hi:
            raise BadInput(f"--seconds-until-auto-pause must be {lo} to {hi}")
    if not 0 <= opts.readers <= MAX_READERS:
        raise BadInput(f"--readers {opts.readers} is out of range: 0 to {MAX_READERS}")
    if opts.engine_version is not None:
        try:
            facts.parse_version(opts.engine_version)
        except ValueError:
            raise BadInput(f"--engine-version {opts.engine_version!r} is not a version like 13.12") from None
    if opts.engine_lifecycle_support not in (None, *LIFECYCLES):
        raise BadInput(f"--engine-lifecycle-support must be one of {', '.join(LIFECYCLES)}")
    swap.check_plan_options(opts.cutover, source_id, opts.dns_zone_id, opts.dns_name)
    for key in opts.tags:
        if key.startswith("snapmigrate:") or key.startswith("aws:"):
            raise BadInput(f"tag {key!r} is reserved: choose a key without the 'snapmigrate:' or 'aws:' prefix")
    if opts.kms_key_id is not None and not opts.kms_key_id.strip():
        raise BadInput("--kms-key-id is empty: give a key id, alias or ARN")
    return PlanOptions(**{**opts.__dict__, "target": target})


# -- the rules -------------------------------------------------------------------


@dataclass
class _Findings:
    items: list[Finding] = field(default_factory=list)

    def add(self, level: Level, code: str, message: str) -> None:
        self.items.append(Finding(level=level, code=code, message=message))


@dataclass(frozen=True)
class Inputs:
    """Everything the rules read: the source, the options, and what AWS said."""

    source: SourceCluster
    options: PlanOptions
    snapshot: Snapshot | None
    name_state: NameState
    zone_state: ZoneState | None
    target_facts: EngineFacts
    facts_note: str | None
    today: date


def choose_versions(
    source_version: str, requested: str | None, engine: str
) -> tuple[str, str, str | None]:
    """(restore version, final version, input problem) for a snapshot at ``source_version``.

    A snapshot restores at its own major version (same or later minor); a
    later major needs a restore then a major-version upgrade.
    """
    src = facts.parse_version(source_version)
    if requested is None:
        if facts.supports_v2(engine, source_version):
            return source_version, source_version, None
        upgrade = facts.upgrade_target(engine, source_version)
        if upgrade is None:
            return source_version, source_version, None
        return source_version, upgrade, None
    req = facts.parse_version(requested)
    if req < src:
        return source_version, source_version, (
            f"--engine-version {requested} is older than the snapshot's {source_version}: "
            "AWS restores a snapshot at its own version or later"
        )
    if req[0] == src[0]:
        return requested, requested, None
    return source_version, requested, None


def map_scaling(inp: Inputs, target: EngineFacts, f: _Findings) -> V2Scaling:
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
                    "which is billed while idle. Use --engine-version with auto-pause support to keep pausing",
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
            f.add("warn", "acu-range", "could not size from the source's instances: --max-acu 16 assumed; set it")
        hi = min(sized, ceiling)
        lo = max(0.5, hi / 8)
        lo = round(lo * 2) / 2
    if opts.min_acu is not None:
        if opts.min_acu < floor:
            f.add(
                "block",
                "acu-input",
                f"--min-acu {opts.min_acu:g} needs automatic pause, which {target.engine} "
                f"{target.version} does not have (minimum {floor:g}); use 0.5 or a newer --engine-version",
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


def check_source(inp: Inputs, f: _Findings) -> None:
    src = inp.source
    if src.engine == facts.POSTGRES:
        f.add("ok", "source-engine", f"{src.identifier} is Aurora PostgreSQL {src.engine_version}")
    elif src.engine == facts.MYSQL:
        f.add(
            "block",
            "source-engine",
            f"{src.identifier} is Aurora MySQL {src.engine_version}: not supported yet "
            "(snapmigrate moves Aurora PostgreSQL clusters)",
        )
    else:
        f.add("block", "source-engine", f"{src.identifier} runs {src.engine}: only Aurora PostgreSQL is supported")
    kind = src.kind
    if kind == "serverless-v1":
        v1 = src.v1_scaling
        rng = f" ({v1.min_capacity}-{v1.max_capacity} ACU, auto-pause {'on' if v1.auto_pause else 'off'})" if v1 else ""
        f.add("ok", "source-mode", f"Aurora Serverless v1{rng}: Serverless v1 reaches end of life; this is the move it needs")
    elif kind == "provisioned":
        classes = ", ".join(sorted({i.instance_class for i in src.instances})) or "no instances"
        f.add("ok", "source-mode", f"provisioned cluster ({classes}): the copy gets db.serverless instances")
    elif kind == "serverless-v2":
        f.add(
            "warn",
            "source-mode",
            "the source already runs Serverless v2: the result is a copy (a clone for testing or a "
            "DR rehearsal), not a migration",
        )
    else:
        f.add("block", "source-mode", f"engine mode {src.engine_mode!r} is not supported (serverless or provisioned only)")
    if src.status == "available":
        f.add("ok", "source-status", "source is available")
    elif inp.options.snapshot:
        f.add("warn", "source-status", f"source is {src.status}; the given snapshot is used, so this does not block")
    else:
        f.add("block", "source-status", f"source is {src.status}: a snapshot needs it available; wait and plan again")


def check_engine(inp: Inputs, target: EngineFacts, restore_version: str, f: _Findings) -> None:
    if inp.facts_note:
        f.add("warn", "engine-facts", f"engine facts from snapmigrate's table: {inp.facts_note}")
    else:
        f.add("ok", "engine-facts", f"engine facts for {target.version} from DescribeDBEngineVersions")
    if not target.serverless_v2:
        f.add(
            "block",
            "engine-version",
            f"{target.engine} {target.version} has no Serverless v2 (needs 13.6+, 14.3+, 15.2+, 16.1+ "
            "or 17.4+): pass --engine-version with a version that has it",
        )
        return
    f.add("ok", "engine-version", f"{target.engine} {target.version} supports Serverless v2")
    if facts.major(target.version) != facts.major(restore_version):
        f.add(
            "warn",
            "major-upgrade",
            f"major upgrade: restore at {restore_version}, then upgrade the cluster to {target.version} "
            f"(ModifyDBCluster AllowMajorVersionUpgrade). After a major upgrade the first instance must "
            f"be provisioned: a temporary {inp.options.bridge_instance_class} writer is created, the "
            "db.serverless instances join, the writer role fails over to them and the bridge is deleted. "
            "Test your application on the new major version first",
        )


def check_extended_support(inp: Inputs, target: EngineFacts, f: _Findings) -> None:
    choice = inp.options.engine_lifecycle_support
    ends = target.standard_support_ends
    major = facts.major(target.version)
    if ends is None:
        f.add("warn", "extended-support", f"no support dates known for {target.engine} {major}")
        return
    if date.fromisoformat(ends) > inp.today:
        f.add("ok", "extended-support", f"{target.engine} {major} is in standard support until {ends}")
        return
    if choice == facts.EXTENDED_SUPPORT_DISABLED:
        f.add(
            "warn",
            "extended-support",
            f"{target.engine} {major} left standard support on {ends} and Extended Support is opted "
            "out: RDS will upgrade the restored cluster to a supported major version on its own, "
            "soon after the restore. Prefer choosing that version yourself with --engine-version",
        )
        return
    f.add(
        "warn",
        "extended-support",
        f"{target.engine} {major} left standard support on {ends}: the restored cluster will be "
        f"enrolled in RDS Extended Support (charged per ACU-hour on top of the Serverless v2 price, "
        f"available until {target.extended_support_ends}). Opt out with --engine-lifecycle-support "
        f"{facts.EXTENDED_SUPPORT_DISABLED} (RDS then upgrades the cluster itself), or plan a "
        "supported --engine-version",
    )


def check_target_name(inp: Inputs, f: _Findings) -> None:
    state = inp.name_state
    if not state.exists:
        f.add("ok", "target-name", f"{state.identifier} is a valid, free cluster identifier")
    elif state.run_id and state.role:
        f.add(
            "warn",
            "target-name",
            f"{state.identifier} already exists, created by snapmigrate run {state.run_id} "
            f"(role {state.role}): 'snapmigrate migrate --resume {state.run_id}' continues that run",
        )
    else:
        f.add(
            "block",
            "target-name",
            f"a cluster named {state.identifier} already exists and was not created by snapmigrate: "
            "choose another --target (snapmigrate never modifies what it did not create)",
        )


def check_snapshot(inp: Inputs, restore_version: str, f: _Findings) -> None:
    name = inp.options.snapshot
    if not name:
        f.add("ok", "snapshot", f"a new manual snapshot of {inp.source.identifier} will be taken")
        return
    snap = inp.snapshot
    if snap is None:
        f.add("block", "snapshot", f"snapshot {name!r} not found in this region: check the id (or its ARN)")
        return
    if snap.engine != inp.source.engine:
        f.add("block", "snapshot", f"snapshot {name} is {snap.engine}, the source is {inp.source.engine}")
        return
    if snap.cluster_identifier and snap.cluster_identifier != inp.source.identifier:
        f.add(
            "warn",
            "snapshot",
            f"snapshot {name} was taken of {snap.cluster_identifier}, not of {inp.source.identifier}",
        )
    if snap.status != "available":
        f.add("block", "snapshot-status", f"snapshot {name} is {snap.status}: wait until it is available")
        return
    f.add("ok", "snapshot", f"snapshot {name} ({snap.engine_version}, {snap.created or 'time unknown'}) is available")


def check_encryption(inp: Inputs, f: _Findings) -> None:
    src, opts = inp.source, inp.options
    encrypted = inp.snapshot.storage_encrypted if inp.snapshot else src.storage_encrypted
    key = inp.snapshot.kms_key_id if inp.snapshot else src.kms_key_id
    if opts.kms_key_id:
        f.add("ok", "encryption", f"the copy is re-encrypted with KMS key {opts.kms_key_id}")
    elif encrypted:
        f.add("ok", "encryption", f"storage stays encrypted with the snapshot's key ({key or 'AWS managed key'})")
    else:
        f.add(
            "warn",
            "encryption",
            "the source is not encrypted, so neither is the copy: pass --kms-key-id to encrypt it",
        )


def check_data_api(inp: Inputs, target: EngineFacts, f: _Findings) -> bool:
    if not inp.source.http_endpoint_enabled:
        f.add("ok", "data-api", "the Data API is off on the source and stays off")
        return False
    if target.data_api:
        f.add("ok", "data-api", "the Data API was on: it is enabled after the restore (EnableHttpEndpoint)")
        return True
    f.add(
        "warn",
        "data-api",
        f"the Data API was on, but {target.engine} {target.version} has no Data API for provisioned/v2 "
        "clusters (needs 13.11+, 14.8+, 15.3+, 16.1+): callers of the Data API will break",
    )
    return False


def plan_log_exports(inp: Inputs, f: _Findings) -> tuple[str, ...]:
    if inp.options.log_exports is not None:
        exports = inp.options.log_exports
        f.add("ok", "log-exports", f"CloudWatch Logs exports as asked: {', '.join(exports) or 'none'}")
        return exports
    if inp.source.kind == "serverless-v1":
        f.add(
            "warn",
            "log-exports",
            "v1 sent the postgresql log to CloudWatch Logs by itself; a provisioned cluster exports only "
            "what EnableCloudwatchLogsExports names: 'postgresql' is planned (--log-exports to change)",
        )
        return ("postgresql",)
    exports = inp.source.cloudwatch_logs_exports
    f.add("ok", "log-exports", f"CloudWatch Logs exports carried: {', '.join(exports) or 'none'}")
    return exports


def plan_parameter_group(inp: Inputs, target: EngineFacts, restore_version: str, f: _Findings) -> str | None:
    src = inp.source
    if inp.options.parameter_group:
        f.add("ok", "parameter-group", f"cluster parameter group {inp.options.parameter_group} as asked")
        return inp.options.parameter_group
    group = src.parameter_group
    if not group or group.startswith("default."):
        f.add("ok", "parameter-group", f"the default cluster parameter group of {target.parameter_group_family}")
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
            f"{target.parameter_group_family} group with the same settings and pass --db-cluster-parameter-group",
        )
        return None
    f.add("ok", "parameter-group", f"custom cluster parameter group {group} carried")
    return group


def plan_instances(inp: Inputs, major_upgrade: bool, f: _Findings) -> tuple[InstanceSpec, ...]:
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
        specs.append(InstanceSpec(f"{target}-bridge", inp.options.bridge_instance_class, az(0), 15, "bridge"))
    specs.append(InstanceSpec(f"{target}-writer", SERVERLESS, az(0), 0, "writer"))
    specs += [InstanceSpec(f"{target}-reader-{n}", SERVERLESS, az(n), 1, "reader") for n in range(1, readers + 1)]
    if not azs:
        f.add("warn", "readers", "the source lists no availability zones: AWS places the instances")
    elif readers + 1 > len(azs):
        f.add(
            "warn",
            "readers",
            f"{readers + 1} instances over {len(azs)} availability zones: some share a zone",
        )
    else:
        where = ", ".join(f"{s.identifier} in {s.availability_zone}" for s in specs if s.role != "bridge")
        f.add("ok", "readers", f"one db.serverless writer and {readers} reader(s), each in its own zone: {where}")
    return tuple(specs)


def check_cutover(inp: Inputs, f: _Findings) -> CutoverSpec:
    opts = inp.options
    spec, level, message = swap.plan_cutover(
        opts.cutover, inp.source, opts.target, opts.dns_zone_id, opts.dns_name, inp.zone_state
    )
    f.add(level, "cutover", message)
    return spec


def check_extras(inp: Inputs, scaling: V2Scaling, performance_insights: bool, f: _Findings) -> None:
    src = inp.source
    carried = [
        f"deletion protection {'on' if src.deletion_protection else 'off'}",
        f"backups {src.backup_retention_period} day(s)",
        f"IAM auth {'on' if src.iam_auth else 'off'}",
        f"port {src.port}",
        f"subnet group {src.subnet_group or 'default'}",
        f"security groups {', '.join(src.security_group_ids) or 'default'}",
        f"{len(src.tags)} tag(s)",
    ]
    f.add("ok", "carried-settings", "carried: " + "; ".join(carried))
    if src.master_user_secret_arn or inp.options.manage_master_user_password:
        f.add(
            "ok",
            "master-password",
            "the master password is managed in Secrets Manager after the restore (restore cannot take "
            "ManageMasterUserPassword)",
        )
    if performance_insights and scaling.min_capacity < 2:
        f.add(
            "warn",
            "performance-insights",
            f"Performance Insights needs a minimum of 2 ACU to work well; the minimum is {scaling.min_capacity:g}",
        )


def target_versions(source: SourceCluster, snapshot: Snapshot | None, requested: str | None) -> tuple[str, str, str | None]:
    """(restore version, final version, input problem) for this source or snapshot."""
    base = snapshot.engine_version if snapshot else source.engine_version
    return choose_versions(base, requested, source.engine)


def preflight(inp: Inputs) -> tuple[TargetSpec, tuple[Finding, ...]]:
    """Run every rule; the target spec and the findings (ok, warn, block)."""
    f = _Findings()
    src, opts = inp.source, inp.options
    check_source(inp, f)
    restore_version, version, problem = target_versions(src, inp.snapshot, opts.engine_version)
    if problem:
        f.add("block", "engine-version-input", problem)
    target = inp.target_facts
    check_engine(inp, target, restore_version, f)
    check_snapshot(inp, restore_version, f)
    scaling = map_scaling(inp, target, f)
    check_encryption(inp, f)
    http = check_data_api(inp, target, f)
    exports = plan_log_exports(inp, f)
    group = plan_parameter_group(inp, target, restore_version, f)
    check_extended_support(inp, target, f)
    check_target_name(inp, f)
    major_upgrade = facts.major(version) != facts.major(restore_version)
    instances = plan_instances(inp, major_upgrade, f)
    cutover = check_cutover(inp, f)
    performance_insights = opts.performance_insights if opts.performance_insights is not None else src.performance_insights
    check_extras(inp, scaling, performance_insights, f)
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
        manage_master_user_password=bool(src.master_user_secret_arn) or opts.manage_master_user_password,
        performance_insights=performance_insights,
        engine_lifecycle_support=opts.engine_lifecycle_support,
        tags=tags,
        cutover=cutover,
    )
    return spec, tuple(f.items)


def input_blockers(findings: Iterable[Finding]) -> list[Finding]:
    """Blocking findings that mean bad input (exit 2) rather than a blocked preflight (exit 4)."""
    return [x for x in findings if x.level == "block" and x.code in INPUT_CODES]


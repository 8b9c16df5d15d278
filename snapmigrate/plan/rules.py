"""The preflight's checks: what the source is, what AWS said, what the user
asked -- each says ``ok``, ``warn`` or ``block`` with a stable code
(docs/preflight.md lists them). Pure: records in, findings out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from snapmigrate.cutover import swap
from snapmigrate.model import (
    CutoverSpec,
    EngineFacts,
    Finding,
    Level,
    Snapshot,
    SourceCluster,
    V2Scaling,
)
from snapmigrate.plan import facts
from snapmigrate.plan.discover import NameState, ZoneState
from snapmigrate.plan.options import PlanOptions
from snapmigrate.plan.publisher import PublisherFacts

#: Codes whose ``block`` means the input was wrong (exit 2) rather than the
#: source or account not being ready (exit 4).
INPUT_CODES = frozenset({"engine-version-input", "acu-input", "target-name", "snapshot", "cutover"})


@dataclass
class Findings:
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
    #: What the source shows about publishing (``--catch-up logical`` only).
    publisher: PublisherFacts | None = None


def check_source(inp: Inputs, f: Findings) -> None:
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
        f.add(
            "block",
            "source-engine",
            f"{src.identifier} runs {src.engine}: only Aurora PostgreSQL is supported",
        )
    kind = src.kind
    if kind == "serverless-v1":
        v1 = src.v1_scaling
        rng = (
            f" ({v1.min_capacity}-{v1.max_capacity} ACU, "
            f"auto-pause {'on' if v1.auto_pause else 'off'})"
            if v1
            else ""
        )
        f.add(
            "ok",
            "source-mode",
            f"Aurora Serverless v1{rng}: Serverless v1 reaches end of life; this is the move it "
            "needs",
        )
    elif kind == "provisioned":
        classes = ", ".join(sorted({i.instance_class for i in src.instances})) or "no instances"
        f.add(
            "ok",
            "source-mode",
            f"provisioned cluster ({classes}): the copy gets db.serverless instances",
        )
    elif kind == "serverless-v2":
        f.add(
            "warn",
            "source-mode",
            "the source already runs Serverless v2: the result is a copy (a clone for testing or a "
            "DR rehearsal), not a migration",
        )
    else:
        f.add(
            "block",
            "source-mode",
            f"engine mode {src.engine_mode!r} is not supported (serverless or provisioned only)",
        )
    if src.status == "available":
        f.add("ok", "source-status", "source is available")
    elif inp.options.snapshot:
        f.add(
            "warn",
            "source-status",
            f"source is {src.status}; the given snapshot is used, so this does not block",
        )
    else:
        f.add(
            "block",
            "source-status",
            f"source is {src.status}: a snapshot needs it available; wait and plan again",
        )


def check_engine(inp: Inputs, target: EngineFacts, restore_version: str, f: Findings) -> None:
    if inp.facts_note:
        f.add("warn", "engine-facts", f"engine facts from snapmigrate's table: {inp.facts_note}")
    else:
        f.add(
            "ok", "engine-facts", f"engine facts for {target.version} from DescribeDBEngineVersions"
        )
    if not target.serverless_v2:
        f.add(
            "block",
            "engine-version",
            f"{target.engine} {target.version} has no Serverless v2 (needs 13.6+, 14.3+, 15.2+, "
            "16.1+ "
            "or 17.4+): pass --engine-version with a version that has it",
        )
        return
    f.add("ok", "engine-version", f"{target.engine} {target.version} supports Serverless v2")
    if facts.major(target.version) != facts.major(restore_version):
        f.add(
            "warn",
            "major-upgrade",
            f"major upgrade: restore at {restore_version}, then upgrade the cluster "
            f"to {target.version} "
            "(ModifyDBCluster AllowMajorVersionUpgrade). After a major upgrade the first instance "
            "must "
            f"be provisioned: a temporary {inp.options.bridge_instance_class} writer is created, "
            "the "
            "db.serverless instances join, the writer role fails over to them and the bridge is "
            "deleted. "
            "Test your application on the new major version first",
        )


def check_extended_support(inp: Inputs, target: EngineFacts, f: Findings) -> None:
    choice = inp.options.engine_lifecycle_support
    ends = target.standard_support_ends
    major = facts.major(target.version)
    if ends is None:
        f.add("warn", "extended-support", f"no support dates known for {target.engine} {major}")
        return
    if date.fromisoformat(ends) > inp.today:
        f.add(
            "ok", "extended-support", f"{target.engine} {major} is in standard support until {ends}"
        )
        return
    if choice == facts.EXTENDED_SUPPORT_DISABLED:
        f.add(
            "warn",
            "extended-support",
            f"{target.engine} {major} left standard support on {ends} and Extended Support is "
            "opted "
            "out: RDS will upgrade the restored cluster to a supported major version on its own, "
            "soon after the restore. Prefer choosing that version yourself with --engine-version",
        )
        return
    f.add(
        "warn",
        "extended-support",
        f"{target.engine} {major} left standard support on {ends}: the restored cluster will be "
        "enrolled in RDS Extended Support (charged per ACU-hour on top of the Serverless v2 "
        "price, "
        f"available until {target.extended_support_ends}). Opt out with --engine-lifecycle-support "
        f"{facts.EXTENDED_SUPPORT_DISABLED} (RDS then upgrades the cluster itself), or plan a "
        "supported --engine-version",
    )


def check_target_name(inp: Inputs, f: Findings) -> None:
    state = inp.name_state
    if not state.exists:
        f.add("ok", "target-name", f"{state.identifier} is a valid, free cluster identifier")
    elif state.run_id and state.role:
        f.add(
            "warn",
            "target-name",
            f"{state.identifier} already exists, created by snapmigrate run {state.run_id} "
            f"(role {state.role}): 'snapmigrate migrate --resume {state.run_id}' continues that "
            "run",
        )
    else:
        f.add(
            "block",
            "target-name",
            f"a cluster named {state.identifier} already exists and was not created by "
            "snapmigrate: "
            "choose another --target (snapmigrate never modifies what it did not create)",
        )


def check_snapshot(inp: Inputs, restore_version: str, f: Findings) -> None:
    name = inp.options.snapshot
    if not name:
        f.add("ok", "snapshot", f"a new manual snapshot of {inp.source.identifier} will be taken")
        return
    snap = inp.snapshot
    if snap is None:
        f.add(
            "block",
            "snapshot",
            f"snapshot {name!r} not found in this region: check the id (or its ARN)",
        )
        return
    if snap.engine != inp.source.engine:
        f.add(
            "block",
            "snapshot",
            f"snapshot {name} is {snap.engine}, the source is {inp.source.engine}",
        )
        return
    if snap.cluster_identifier and snap.cluster_identifier != inp.source.identifier:
        f.add(
            "warn",
            "snapshot",
            f"snapshot {name} was taken of {snap.cluster_identifier}, not "
            f"of {inp.source.identifier}",
        )
    if snap.status != "available":
        f.add(
            "block",
            "snapshot-status",
            f"snapshot {name} is {snap.status}: wait until it is available",
        )
        return
    f.add(
        "ok",
        "snapshot",
        f"snapshot {name} ({snap.engine_version}, {snap.created or 'time unknown'}) is available",
    )


def check_encryption(inp: Inputs, f: Findings) -> None:
    src, opts = inp.source, inp.options
    encrypted = inp.snapshot.storage_encrypted if inp.snapshot else src.storage_encrypted
    key = inp.snapshot.kms_key_id if inp.snapshot else src.kms_key_id
    if opts.kms_key_id:
        f.add("ok", "encryption", f"the copy is re-encrypted with KMS key {opts.kms_key_id}")
    elif encrypted:
        f.add(
            "ok",
            "encryption",
            f"storage stays encrypted with the snapshot's key ({key or 'AWS managed key'})",
        )
    else:
        f.add(
            "warn",
            "encryption",
            "the source is not encrypted, so neither is the copy: pass --kms-key-id to encrypt it",
        )


def check_data_api(inp: Inputs, target: EngineFacts, f: Findings) -> bool:
    if not inp.source.http_endpoint_enabled:
        f.add("ok", "data-api", "the Data API is off on the source and stays off")
        return False
    if target.data_api:
        f.add(
            "ok",
            "data-api",
            "the Data API was on: it is enabled after the restore (EnableHttpEndpoint)",
        )
        return True
    f.add(
        "warn",
        "data-api",
        f"the Data API was on, but {target.engine} {target.version} has no Data API for "
        "provisioned/v2 "
        "clusters (needs 13.11+, 14.8+, 15.3+, 16.1+): callers of the Data API will break",
    )
    return False


def check_cutover(inp: Inputs, f: Findings) -> CutoverSpec:
    opts = inp.options
    spec, level, message = swap.plan_cutover(
        opts.cutover, inp.source, opts.target, opts.dns_zone_id, opts.dns_name, inp.zone_state
    )
    f.add(level, "cutover", message)
    return spec


def check_extras(inp: Inputs, scaling: V2Scaling, performance_insights: bool, f: Findings) -> None:
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
            "the master password is managed in Secrets Manager after the restore (restore cannot "
            "take "
            "ManageMasterUserPassword)",
        )
    if performance_insights and scaling.min_capacity < 2:
        f.add(
            "warn",
            "performance-insights",
            "Performance Insights needs a minimum of 2 ACU to work well; the minimum "
            f"is {scaling.min_capacity:g}",
        )


def input_blockers(findings: Iterable[Finding]) -> list[Finding]:
    """Blocking findings that mean bad input (exit 2) rather than a blocked preflight (exit 4)."""
    return [x for x in findings if x.level == "block" and x.code in INPUT_CODES]

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
    KIND_CLONE,
    TAG_EXPIRES_AT,
    TAG_KIND,
    TAG_SOURCE,
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
from snapmigrate.plan.versions import EngineCatalog, VersionChoice, support_dates

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
    #: What DescribeDBEngineVersions said (None: it did not answer, ``facts_note`` says why).
    catalog: EngineCatalog | None
    facts_note: str | None
    today: date
    #: What the source shows about publishing (``--catch-up logical`` only).
    publisher: PublisherFacts | None = None
    region: str | None = None


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
            f"Aurora Serverless v1{rng}: Serverless v1 reached end of life on "
            f"{facts.V1_END_OF_LIFE} (no new v1 clusters since {facts.V1_NO_NEW_CLUSTERS}; AWS "
            "moves the rest in maintenance windows): this is the move it needs",
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
    if src.tags.get(TAG_KIND) == KIND_CLONE:
        expires = src.tags.get(TAG_EXPIRES_AT) or "never"
        f.add(
            "warn",
            "source-is-clone",
            f"{src.identifier} is a snapmigrate clone of {src.tags.get(TAG_SOURCE, '?')}, "
            f"expiring {expires}: 'snapmigrate clone gc' may destroy it mid-run; protect it "
            f"first: snapmigrate clone protect {src.identifier} --until 2d",
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


def check_engine(inp: Inputs, target: EngineFacts, choice: VersionChoice, f: Findings) -> None:
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
            "16.1+, 17.4+ or 18.3+): pass --engine-version with a version that has it",
        )
        return
    f.add("ok", "engine-version", f"{target.engine} {target.version} supports Serverless v2")
    if choice.reason:
        f.add(
            "ok",
            "upgrade-target",
            f"{choice.restore_version} has no Serverless v2: the target is upgraded to "
            f"{choice.version}, {choice.reason}; --engine-version chooses another",
        )
    if choice.major_upgrade:
        bridge = inp.options.bridge_instance_class
        f.add(
            "warn",
            "major-upgrade",
            f"major upgrade, in AWS's documented order: restore provisioned at "
            f"{choice.restore_version} without a Serverless v2 range, upgrade the cluster to "
            f"{choice.version} (ModifyDBCluster AllowMajorVersionUpgrade), add a provisioned "
            f"{bridge} writer first (after a major upgrade the first instance must be "
            "provisioned), then set the Serverless v2 range (ModifyDBCluster), add the "
            "db.serverless instances, fail over to the db.serverless writer and delete the "
            "bridge. Test your application on the new major version first",
        )


def _past(dates: tuple[str, str] | None, today: date) -> bool:
    return dates is not None and date.fromisoformat(dates[0]) <= today


def check_extended_support(
    inp: Inputs, target: EngineFacts, choice: VersionChoice, f: Findings
) -> None:
    """What RDS Extended Support means for this restore: which major it runs when, and
    whether it is billed (the choice is per cluster and permanent).
    https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/extended-support-restoring-db-instance.html
    """
    engine, lifecycle = target.engine, inp.options.engine_lifecycle_support
    disabled = lifecycle == facts.EXTENDED_SUPPORT_DISABLED
    restore_major, final_major = facts.major(choice.restore_version), facts.major(choice.version)
    restore_dates = support_dates(inp.catalog, engine, restore_major)
    final_dates = support_dates(inp.catalog, engine, final_major)
    if final_dates is None:
        f.add("warn", "extended-support", f"no support dates known for {engine} {final_major}")
        return
    price = (
        "charged per ACU-hour on top of the Serverless v2 price "
        "(https://aws.amazon.com/rds/aurora/pricing/)"
    )
    restore_past, final_past = _past(restore_dates, inp.today), _past(final_dates, inp.today)
    if restore_past and choice.major_upgrade and not final_past:
        assert restore_dates is not None
        if disabled:
            f.add(
                "ok",
                "extended-support",
                f"the restore lands on {choice.restore_version} ({engine} {restore_major} left "
                f"standard support on {restore_dates[0]}) with Extended Support opted out: no "
                f"Extended Support charge; snapmigrate upgrades it to {choice.version} (in "
                f"standard support until {final_dates[0]}) right after the restore",
            )
            return
        f.add(
            "warn",
            "extended-support",
            f"{engine} {restore_major} left standard support on {restore_dates[0]}: the restore "
            f"at {choice.restore_version} enrols the target in RDS Extended Support for its "
            f"life, {price}, while it runs {restore_major} (until the upgrade to "
            f"{choice.version} finishes) and again whenever it runs a major past standard "
            f"support ({final_major}: from {final_dates[0]}). Avoid it with "
            f"--engine-lifecycle-support {facts.EXTENDED_SUPPORT_DISABLED}",
        )
        return
    if not final_past:
        f.add(
            "ok",
            "extended-support",
            f"{engine} {final_major} is in standard support until {final_dates[0]}",
        )
        return
    if disabled:
        f.add(
            "warn",
            "extended-support",
            f"{engine} {final_major} left standard support on {final_dates[0]} and Extended "
            f"Support is opted out: the restore completes on {choice.version} and RDS upgrades "
            "the cluster to a newer major on its own in a later maintenance window (a version "
            "AWS picks); if that upgrade fails its pre-upgrade checks, the cluster stays on "
            f"{final_major} in RDS Extended Support, {price}, until you upgrade it. Choose the "
            "version yourself with --engine-version",
        )
        return
    f.add(
        "warn",
        "extended-support",
        f"{engine} {final_major} left standard support on {final_dates[0]}: the target is "
        f"enrolled in RDS Extended Support for its life, {price}, available until "
        f"{final_dates[1]}. Opt out with --engine-lifecycle-support "
        f"{facts.EXTENDED_SUPPORT_DISABLED} (the restore still lands on {choice.version}; RDS "
        "upgrades it later in a maintenance window), or plan a supported --engine-version",
    )


def check_target_name(inp: Inputs, f: Findings) -> None:
    state = inp.name_state
    if not state.exists:
        f.add("ok", "target-name", f"{state.identifier} is a valid, free cluster identifier")
    elif state.clone:
        f.add(
            "block",
            "target-name",
            f"{state.identifier} is a snapmigrate clone: choose another --target (a clone "
            f"goes with 'snapmigrate clone destroy {state.identifier}')",
        )
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
    """The Data API comes back through EnableHttpEndpoint where the version and the
    Region have it for provisioned and Serverless v2 clusters.
    https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.Aurora_Fea_Regions_DB-eng.Feature.Data_API.html
    """
    if not inp.source.http_endpoint_enabled:
        f.add("ok", "data-api", "the Data API is off on the source and stays off")
        return False
    if inp.region in facts.NO_DATA_API_REGIONS:
        f.add(
            "warn",
            "data-api",
            f"the Data API was on, but {inp.region} has no Data API for provisioned/v2 "
            "clusters: callers of the Data API will break",
        )
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
        "provisioned/v2 clusters (needs 13.11+, 14.8+, 15.3+, 16.1+, 17.4+ or 18.3+): callers "
        "of the Data API will break",
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
        user = src.master_username or "the master user"
        was = (
            f" (the source's secret {src.master_user_secret_arn} does not follow)"
            if src.master_user_secret_arn
            else ""
        )
        f.add(
            "warn",
            "master-password",
            f"the target manages its master password in Secrets Manager, turned on after the "
            "restore (a restore cannot take ManageMasterUserPassword): AWS then gives "
            f"{user} a NEW password in a NEW secret{was}; applications that log in with the "
            "source's password or read the source's secret must switch to the target's secret "
            "at the cutover",
        )
    if src.custom_endpoints:
        # "Custom endpoints are not included in the snapshot. You create them again after
        # restoring, and choose new endpoint names if the restored cluster is in the same
        # region as the original one."
        # https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.Endpoints.Custom.Considerations.html
        f.add(
            "warn",
            "custom-endpoints",
            f"{src.identifier} has custom endpoints ({', '.join(src.custom_endpoints)}): they "
            "are not in a snapshot, so the target has none; create them again on the target "
            "under new names, and move their clients yourself",
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

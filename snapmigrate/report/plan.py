"""The plan as a human table: findings, the settings side by side, the steps."""

from __future__ import annotations

from snapmigrate.model import Plan, SourceCluster, TargetSpec
from snapmigrate.report import MARKS, format_table


def _source_capacity(src: SourceCluster) -> str:
    if src.v1_scaling:
        v1 = src.v1_scaling
        pause = (
            f", auto-pause after {v1.seconds_until_auto_pause or 300} s" if v1.auto_pause else ""
        )
        return f"v1 {v1.min_capacity}-{v1.max_capacity} ACU{pause}"
    if src.v2_scaling:
        return f"v2 {src.v2_scaling.min_capacity:g}-{src.v2_scaling.max_capacity:g} ACU"
    return ", ".join(sorted({i.instance_class for i in src.instances})) or "no instances"


def _target_capacity(tgt: TargetSpec) -> str:
    s = tgt.scaling
    pause = (
        f", auto-pause after {s.seconds_until_auto_pause} s" if s.seconds_until_auto_pause else ""
    )
    return f"v2 {s.min_capacity:g}-{s.max_capacity:g} ACU{pause}"


def _onoff(value: bool) -> str:
    return "on" if value else "off"


def settings_rows(src: SourceCluster, tgt: TargetSpec) -> list[tuple[str, str, str]]:
    """(setting, source, target) for everything the migration maps or carries."""
    writer = [i for i in tgt.instances if i.role == "writer"]
    readers = [i for i in tgt.instances if i.role == "reader"]
    version = (
        tgt.engine_version
        if not tgt.major_upgrade
        else f"{tgt.restore_version} -> {tgt.engine_version}"
    )
    return [
        ("identifier", src.identifier, tgt.identifier),
        ("engine", f"{src.engine} {src.engine_version}", f"{tgt.engine} {version}"),
        ("mode", src.kind, "provisioned + db.serverless"),
        ("capacity", _source_capacity(src), _target_capacity(tgt)),
        (
            "instances",
            ", ".join(f"{i.identifier} ({i.instance_class})" for i in src.instances)
            or "none (v1 compute)",
            f"{len(writer)} writer + {len(readers)} reader(s), db.serverless",
        ),
        (
            "encryption",
            f"{_onoff(src.storage_encrypted)} ({src.kms_key_id or '-'})",
            f"{'re-encrypted: ' + tgt.kms_key_id if tgt.kms_key_id else 'as the snapshot'}",
        ),
        ("Data API", _onoff(src.http_endpoint_enabled), _onoff(tgt.enable_http_endpoint)),
        (
            "log exports",
            ", ".join(src.cloudwatch_logs_exports) or ("all (v1)" if src.v1_scaling else "none"),
            ", ".join(tgt.cloudwatch_logs_exports) or "none",
        ),
        ("parameter group", src.parameter_group or "-", tgt.parameter_group or "default"),
        ("subnet group", src.subnet_group or "default", tgt.subnet_group or "default"),
        (
            "security groups",
            ", ".join(src.security_group_ids) or "default",
            ", ".join(tgt.security_group_ids) or "default",
        ),
        ("port", str(src.port), str(tgt.port)),
        ("deletion protection", _onoff(src.deletion_protection), _onoff(tgt.deletion_protection)),
        (
            "backup retention",
            f"{src.backup_retention_period} d",
            f"{tgt.backup_retention_period} d",
        ),
        ("IAM DB auth", _onoff(src.iam_auth), _onoff(tgt.iam_auth)),
        (
            "managed password",
            _onoff(bool(src.master_user_secret_arn)),
            _onoff(tgt.manage_master_user_password),
        ),
        (
            "lifecycle",
            src.engine_lifecycle_support or "-",
            tgt.engine_lifecycle_support or "AWS default",
        ),
        ("tags", str(len(src.tags)), f"{len(tgt.tags)} + snapmigrate:run-id, snapmigrate:role"),
        *_catch_up_rows(tgt),
    ]


def _catch_up_rows(tgt: TargetSpec) -> list[tuple[str, str, str]]:
    spec = tgt.catch_up
    if not spec.logical:
        return []
    gib = spec.max_retained_wal_bytes / 1024**3
    return [
        (
            "catch-up",
            f"publishes {len(spec.databases)} database(s), slots <= {gib:g} GiB of WAL",
            "subscribes from the snapshot's LSN until the cutover",
        )
    ]


def in_place(tgt: TargetSpec) -> bool:
    return tgt.path == "in-place"


def _rows(src: SourceCluster, tgt: TargetSpec) -> list[tuple[str, str, str]]:
    """In place only the compute changes: the other settings stay as they are."""
    if not in_place(tgt):
        return settings_rows(src, tgt)
    return [
        *settings_rows(src, tgt)[:4],
        (
            "instances",
            ", ".join(f"{i.identifier} ({i.instance_class})" for i in src.instances)
            or "none (v1 compute)",
            ", ".join(f"{i.identifier} ({i.availability_zone or '?'})" for i in tgt.instances)
            + ", db.serverless only",
        ),
        ("endpoints", src.endpoint or "-", "the same (same cluster)"),
        ("everything else", "as it is", "unchanged (the cluster is changed in place)"),
    ]


def table(plan: Plan) -> str:
    src, tgt = plan.source, plan.target
    lines = [
        f"Plan: {src.identifier} ({src.kind}, {src.engine} {src.engine_version}) -> "
        f"{tgt.identifier} (provisioned + Serverless v2, {tgt.engine_version})  "
        f"region {plan.region}",
        "",
        "Findings",
        format_table(
            ["LEVEL", "CODE", "MESSAGE"],
            [(MARKS[f.level], f.code, f.message) for f in plan.findings],
        ),
        "",
        "Settings",
        format_table(["SETTING", "SOURCE", "TARGET"], _rows(src, tgt)),
        "",
        "Steps",
        format_table(
            ["#", "STEP", "WHAT"], [(n, s.name, s.summary) for n, s in enumerate(plan.steps, 1)]
        ),
        "",
    ]
    blocks = sum(f.level == "block" for f in plan.findings)
    warns = sum(f.level == "warn" for f in plan.findings)
    if blocks:
        lines.append(
            f"BLOCKED: {blocks} blocking finding(s), {warns} warning(s). Nothing was changed."
        )
    else:
        how = "--path in-place" if in_place(tgt) else f"--target {tgt.identifier}"
        lines.append(
            f"Ready: {warns} warning(s). Apply with: snapmigrate migrate {src.identifier} {how}"
        )
    return "\n".join(lines)

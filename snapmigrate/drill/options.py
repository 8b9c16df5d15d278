"""What the user asked ``drill run`` for, checked before any AWS call: a bad flag
is one line and exit 2, and nothing is read or changed. Durations are the
clone's (:func:`snapmigrate.clone.lease.parse_duration`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from snapmigrate.clone.lease import parse_duration, parse_instant
from snapmigrate.db.scope import TableRef
from snapmigrate.errors import BadInput
from snapmigrate.plan.options import check_identifier

FROM_KINDS = ("latest-snapshot", "snapshot", "pitr-latest", "pitr-time")
CHECKS = ("schema", "counts", "checksum")
INJECTIONS = ("corrupt-row", "missing-table", "stale-snapshot")
REPORTS = (".md", ".html", ".json")
DEFAULT_CHECKS = "schema,counts,checksum"
DEFAULT_HEARTBEAT = "public.snapmigrate_heartbeat"


@dataclass(frozen=True)
class RecoveryChoice:
    """``--from``: which kind of recovery point, and its snapshot id or time."""

    kind: str
    snapshot: str | None = None
    time: datetime | None = None

    def __str__(self) -> str:
        if self.kind == "snapshot":
            return f"snapshot:{self.snapshot}"
        if self.kind == "pitr-time":
            assert self.time is not None
            return f"pitr:{self.time.isoformat(timespec='seconds')}"
        return "pitr:latest" if self.kind == "pitr-latest" else "latest-snapshot"

    @property
    def is_pitr(self) -> bool:
        return self.kind.startswith("pitr")


def parse_from(text: str) -> RecoveryChoice:
    """``latest-snapshot``, ``snapshot:ID``, ``pitr:latest`` or ``pitr:ISO8601``."""
    value = text.strip()
    if value == "latest-snapshot":
        return RecoveryChoice("latest-snapshot")
    kind, sep, rest = value.partition(":")
    if sep and kind == "snapshot" and rest:
        return RecoveryChoice("snapshot", snapshot=rest)
    if sep and kind == "pitr" and rest == "latest":
        return RecoveryChoice("pitr-latest")
    if sep and kind == "pitr" and rest:
        return RecoveryChoice("pitr-time", time=parse_instant(rest, "--from pitr:"))
    raise BadInput(
        f"--from {text!r} is not a recovery point: latest-snapshot, snapshot:ID, pitr:latest "
        "or pitr:2026-01-31T18:00:00Z"
    )


@dataclass(frozen=True)
class DrillOptions:
    """``drill run SOURCE ...``, checked (:func:`check_options`)."""

    source: str
    recovery: RecoveryChoice
    checks: tuple[str, ...] = CHECKS
    sql_files: tuple[str, ...] = ()
    heartbeat: TableRef | None = None
    database: str = "postgres"
    inject: str | None = None
    rpo_target: timedelta | None = None
    rto_target: timedelta | None = None
    keep: timedelta | None = None
    report: str | None = None
    to_region: str | None = None
    kms_key: str | None = None


def check_options(
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
) -> DrillOptions:
    """The flags as given -> :class:`DrillOptions`, or :class:`BadInput` (exit 2)."""
    source = check_identifier(source, "source cluster identifier")
    checks, sql_files = _checks(check)
    if inject is not None and inject not in INJECTIONS:
        raise BadInput(f"--inject must be one of {', '.join(INJECTIONS)}, not {inject!r}")
    if inject == "corrupt-row" and heartbeat is None:
        raise BadInput(
            "--inject corrupt-row needs --heartbeat TABLE: only a heartbeat tells a table "
            "that did not change since the recovery point"
        )
    if inject == "corrupt-row" and "checksum" not in checks:
        raise BadInput("--inject corrupt-row must fail the checksum: add checksum to --check")
    if inject == "missing-table" and "schema" not in checks:
        raise BadInput("--inject missing-table must fail the schema check: add schema to --check")
    if inject == "stale-snapshot" and rpo_target is None:
        raise BadInput("--inject stale-snapshot must miss an RPO target: give --rpo-target")
    if report is not None and Path(report).suffix.lower() not in REPORTS:
        raise BadInput(f"--report {report!r}: the file must end in .md, .html or .json")
    if kms_key is not None and to_region is None:
        raise BadInput("--kms-key is the destination region's key: it goes with --to-region")
    recovery = parse_from(from_)
    if to_region is not None and recovery.is_pitr:
        # A point-in-time restore is made in the source's region (from its backups).
        raise BadInput(
            f"--from {recovery} with --to-region: a point-in-time restore happens in the "
            "source's region; restore a snapshot (--from latest-snapshot or snapshot:ID)"
        )
    return DrillOptions(
        source=source,
        recovery=recovery,
        checks=checks,
        sql_files=sql_files,
        heartbeat=TableRef.parse(heartbeat) if heartbeat else None,
        database=database,
        inject=inject,
        rpo_target=parse_duration(rpo_target, "--rpo-target") if rpo_target else None,
        rto_target=parse_duration(rto_target, "--rto-target") if rto_target else None,
        keep=parse_duration(keep, "--keep") if keep else None,
        report=report,
        to_region=to_region,
        kms_key=kms_key,
    )


def _checks(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    checks: list[str] = []
    files: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if part.startswith("sql:") and part[4:]:
            if not Path(part[4:]).is_file():
                raise BadInput(f"--check {part}: no such file")
            files.append(part[4:])
        elif part in CHECKS:
            checks.append(part)
        else:
            raise BadInput(f"--check {part!r} is not a check: schema, counts, checksum or sql:FILE")
    return tuple(dict.fromkeys(checks)), tuple(dict.fromkeys(files))

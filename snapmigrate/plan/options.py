"""What the user asked a plan for (:class:`PlanOptions`), checked before any AWS
call: bad input is a one-line message and exit 2, and nothing is read or changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from snapmigrate.cutover import swap
from snapmigrate.errors import BadInput
from snapmigrate.migrate import IN_PLACE
from snapmigrate.plan import facts

MAX_READERS = 15
#: Instance names are ``<target>-reader-NN``; keep them within RDS's 63 characters.
MAX_TARGET_LENGTH = 63 - len("-reader-15")
AUTO_PAUSE_RANGE = (300, 86400)
LIFECYCLES = (facts.EXTENDED_SUPPORT, facts.EXTENDED_SUPPORT_DISABLED)
SNAPSHOT = "snapshot"
PATHS = (SNAPSHOT, IN_PLACE)
#: What the in-place path has no use for: the cluster keeps its name, endpoints, settings.
SNAPSHOT_ONLY = {
    "target": "--target",
    "snapshot": "--snapshot",
    "kms_key_id": "--kms-key-id",
    "parameter_group": "--db-cluster-parameter-group",
    "engine_lifecycle_support": "--engine-lifecycle-support",
    "dns_zone_id": "--dns-zone-id",
    "dns_name": "--dns-name",
}
CATCH_UPS = ("none", "logical")


@dataclass(frozen=True)
class PlanOptions:
    """What the user asked for on the command line (or in a plan file)."""

    target: str = ""
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
    #: ``snapshot`` (a new cluster, --target) or ``in-place`` (the source changed).
    path: str = SNAPSHOT
    #: ``--instance-class``: the provisioned class a Serverless v1 conversion makes.
    interim_class: str | None = None
    catch_up: str = "none"
    replica_identity_full: bool = False
    prepare_source: bool = False
    max_retained_wal_gb: float = 100.0


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
        raise BadInput(
            f"{flag} {value:g} is not a multiple of 0.5 ACU: use e.g. {round(value * 2) / 2:g}"
        )


def validate_options(opts: PlanOptions, source_id: str) -> PlanOptions:
    """Reject bad input with a one-line message (exit 2) before any AWS call."""
    check_identifier(source_id, "source cluster identifier")
    if opts.path not in PATHS:
        raise BadInput(f"--path {opts.path!r} is not one of {', '.join(PATHS)}")
    if opts.path == IN_PLACE:
        return _in_place(opts, source_id)
    if opts.interim_class:
        raise BadInput("--instance-class is for --path in-place (a Serverless v1 conversion)")
    if not opts.target:
        raise BadInput("give --target NAME (the new cluster), or --path in-place")
    target = check_identifier(opts.target)
    if len(target) > MAX_TARGET_LENGTH:
        raise BadInput(
            f"target cluster identifier {opts.target!r} is {len(target)} characters: at most "
            f"{MAX_TARGET_LENGTH}, so that its instances ('{target[:8]}...-reader-1') fit RDS's 63"
        )
    if target == source_id.lower():
        raise BadInput("--target must differ from the source: the restore creates a new cluster")
    _check_capacity(opts)
    if not 0 <= opts.readers <= MAX_READERS:
        raise BadInput(f"--readers {opts.readers} is out of range: 0 to {MAX_READERS}")
    _check_version(opts)
    if opts.engine_lifecycle_support not in (None, *LIFECYCLES):
        raise BadInput(f"--engine-lifecycle-support must be one of {', '.join(LIFECYCLES)}")
    swap.check_plan_options(opts.cutover, source_id, opts.dns_zone_id, opts.dns_name)
    _check_tags(opts)
    if opts.kms_key_id is not None and not opts.kms_key_id.strip():
        raise BadInput("--kms-key-id is empty: give a key id, alias or ARN")
    _check_catch_up(opts)
    return PlanOptions(**{**opts.__dict__, "target": target})


def _check_capacity(opts: PlanOptions) -> None:
    _check_acu(opts.min_acu, "--min-acu")
    _check_acu(opts.max_acu, "--max-acu")
    if opts.max_acu is not None and opts.max_acu < 1:
        raise BadInput(
            f"--max-acu {opts.max_acu:g} is too low: Serverless v2 needs a maximum of at least 1 "
            "ACU"
        )
    if opts.min_acu is not None and opts.max_acu is not None and opts.min_acu > opts.max_acu:
        raise BadInput(f"--min-acu {opts.min_acu:g} is above --max-acu {opts.max_acu:g}")
    if opts.seconds_until_auto_pause is not None:
        lo, hi = AUTO_PAUSE_RANGE
        if not lo <= opts.seconds_until_auto_pause <= hi:
            raise BadInput(f"--seconds-until-auto-pause must be {lo} to {hi}")


def _check_version(opts: PlanOptions) -> None:
    if opts.engine_version is not None:
        try:
            facts.parse_version(opts.engine_version)
        except ValueError:
            raise BadInput(
                f"--engine-version {opts.engine_version!r} is not a version like 13.12"
            ) from None


def _check_tags(opts: PlanOptions) -> None:
    for key in opts.tags:
        if key.startswith("snapmigrate:") or key.startswith("aws:"):
            raise BadInput(
                f"tag {key!r} is reserved: choose a key without the 'snapmigrate:' or 'aws:' prefix"
            )


def _in_place(opts: PlanOptions, source_id: str) -> PlanOptions:
    """In place: no new cluster, so none of the snapshot path's target options."""
    for name, flag in SNAPSHOT_ONLY.items():
        if getattr(opts, name):
            raise BadInput(
                f"{flag} does not go with --path in-place: the cluster keeps its name and "
                f"endpoints; drop {flag}"
            )
    if opts.cutover != swap.NO_CUTOVER:
        raise BadInput("--cutover does not go with --path in-place: clients stay where they are")
    if opts.readers:
        raise BadInput("--readers does not go with --path in-place: it adds two db.serverless")
    if opts.catch_up != "none" or opts.replica_identity_full or opts.prepare_source:
        raise BadInput(
            "--catch-up does not go with --path in-place: nothing is copied, so there is "
            "nothing to catch up"
        )
    _check_capacity(opts)
    _check_tags(opts)
    _check_version(opts)
    return PlanOptions(**{**opts.__dict__, "target": source_id.lower()})


def _check_catch_up(opts: PlanOptions) -> None:
    if opts.catch_up not in CATCH_UPS:
        raise BadInput(f"--catch-up must be one of {', '.join(CATCH_UPS)}")
    if opts.catch_up == "none":
        given = [
            flag
            for flag, on in (
                ("--replica-identity-full", opts.replica_identity_full),
                ("--prepare-source", opts.prepare_source),
            )
            if on
        ]
        if given:
            raise BadInput(f"{given[0]} needs --catch-up logical")
        return
    if opts.snapshot:
        raise BadInput(
            "--snapshot cannot be combined with --catch-up logical: the catch-up needs a "
            "snapshot taken after its replication slot (drop --snapshot)"
        )
    if not opts.max_retained_wal_gb > 0:
        raise BadInput("--max-retained-wal-gb must be positive")

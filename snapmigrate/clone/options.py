"""What the user asked ``clone create`` (and ``reset``) for, checked before any AWS
call: a bad flag is one line and exit 2, and nothing is read or changed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from snapmigrate.clone.lease import DEFAULT_TTL, parse_duration, parse_instant
from snapmigrate.errors import BadInput
from snapmigrate.plan.options import MAX_READERS, check_identifier

METHODS = ("cow", "snapshot", "pitr")
#: Instance names are ``<name>-writer`` and ``<name>-reader-NN``: RDS allows 63 characters.
MAX_NAME_LENGTH = 63 - len("-reader-15")
_ACU = re.compile(r"(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class Acu:
    """A Serverless v2 range, as ``--acu MIN-MAX`` gives it."""

    min: float
    max: float

    def __str__(self) -> str:
        return f"{self.min:g}-{self.max:g}"


def parse_acu(text: str) -> Acu:
    """``0.5-4`` -> Acu(0.5, 4): multiples of 0.5, min <= max, max between 1 and 256."""
    found = _ACU.fullmatch(text.strip())
    if not found:
        raise BadInput(f"--acu {text!r} is not MIN-MAX, e.g. 0.5-4 (0-4 where the version pauses)")
    low, high = float(found.group(1)), float(found.group(2))
    for value in (low, high):
        if value * 2 != int(value * 2):
            raise BadInput(f"--acu {text!r}: {value:g} is not a multiple of 0.5 ACU")
    if high > 256:
        raise BadInput(f"--acu {text!r}: Serverless v2 scales to 256 ACU at most")
    if high < 1:
        raise BadInput(f"--acu {text!r}: the maximum must be at least 1 ACU")
    if low > high:
        raise BadInput(f"--acu {text!r}: the minimum is above the maximum")
    return Acu(low, high)


@dataclass(frozen=True)
class CloneOptions:
    """``clone create SOURCE --name NAME ...``, checked (:func:`check_options`)."""

    source: str
    name: str
    method: str = "cow"
    snapshot: str | None = None
    restore_time: datetime | None = None
    latest: bool = False
    ttl: timedelta = DEFAULT_TTL
    acu: Acu | None = None
    readers: int = 0
    mask_file: str | None = None


def check_options(
    source: str,
    name: str,
    *,
    method: str = "cow",
    snapshot: str | None = None,
    restore_time: str | None = None,
    latest: bool = False,
    ttl: str | None = None,
    acu: str | None = None,
    readers: int = 0,
    mask_file: str | None = None,
) -> CloneOptions:
    """The flags as given -> :class:`CloneOptions`, or :class:`BadInput` (exit 2)."""
    source = check_identifier(source, "source cluster identifier")
    name = check_identifier(name, "clone name")
    if len(name) > MAX_NAME_LENGTH:
        raise BadInput(
            f"clone name {name!r} is {len(name)} characters: at most {MAX_NAME_LENGTH}, so that "
            "its instances' names fit RDS's 63"
        )
    if name == source:
        raise BadInput("--name must differ from SOURCE: a clone is a new cluster")
    if method not in METHODS:
        raise BadInput(f"--method must be one of {', '.join(METHODS)}, not {method!r}")
    if snapshot is not None and method != "snapshot":
        raise BadInput("--snapshot goes with --method snapshot")
    if restore_time is not None and latest:
        raise BadInput("give --restore-time or --latest, not both")
    when = parse_instant(restore_time, "--restore-time") if restore_time is not None else None
    if when is not None and method != "pitr":
        # "Can't be specified if the RestoreType parameter is copy-on-write": a clone
        # is always of the latest data.
        # https://docs.aws.amazon.com/cli/latest/reference/rds/restore-db-cluster-to-point-in-time.html
        raise BadInput(
            "--restore-time goes with --method pitr (a copy-on-write clone is always of the "
            "latest data, and a snapshot is of its own time)"
        )
    if latest and method == "snapshot":
        raise BadInput("--latest goes with --method cow or pitr (--method snapshot: --snapshot)")
    if not 0 <= readers <= MAX_READERS:
        raise BadInput(f"--readers {readers} is out of range: 0 to {MAX_READERS}")
    return CloneOptions(
        source=source,
        name=name,
        method=method,
        snapshot=snapshot,
        restore_time=when,
        latest=latest or (method != "snapshot" and when is None),
        ttl=parse_duration(ttl) if ttl is not None else DEFAULT_TTL,
        acu=parse_acu(acu) if acu is not None else None,
        readers=readers,
        mask_file=mask_file,
    )

"""Commands that change nothing: ``verify`` (two databases or clusters compared)
and ``permissions`` (the IAM policy the other commands need)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from snapmigrate import permissions as perms
from snapmigrate.commands.config import Config
from snapmigrate.db.connect import resolve
from snapmigrate.db.verify import VerifyOptions, VerifyResult
from snapmigrate.db.verify import verify as compare


def verify(
    config: Config,
    source: str,
    target: str,
    options: VerifyOptions,
    *,
    iam_auth: bool = False,
    ca_bundle: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> VerifyResult:
    """Compare ``target`` with ``source`` (each a PostgreSQL URI or a cluster id):
    schema, exact row counts, checksums bisected to the differing rows. Read-only."""
    connect_map = config.check_connect_map()
    src = resolve(source, "source", config.clients, iam_auth=iam_auth, ca_bundle=ca_bundle)
    tgt = resolve(target, "target", config.clients, iam_auth=iam_auth, ca_bundle=ca_bundle)
    return compare(src, tgt, options, connect_map=connect_map, progress=progress)


@dataclass(frozen=True)
class Policy:
    """The IAM actions each part of each command needs, and the policy granting them."""

    grants: tuple[perms.Grant, ...]
    document: dict[str, Any]


def permissions(commands: Iterable[str] = perms.COMMANDS) -> Policy:
    """The least-privilege IAM policy for ``commands``, from what each step declares."""
    wanted = tuple(commands)
    return Policy(tuple(perms.grants(wanted)), perms.policy(wanted))

"""``permissions``: the least-privilege IAM policy, from what each step declares."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from snapmigrate import permissions as perms


@dataclass(frozen=True)
class Policy:
    """The IAM actions each part of each command needs, and the policy granting them."""

    grants: tuple[perms.Grant, ...]
    document: dict[str, Any]


def permissions(commands: Iterable[str] = perms.COMMANDS) -> Policy:
    """The least-privilege IAM policy for ``commands``, from what each step declares."""
    wanted = tuple(commands)
    return Policy(tuple(perms.grants(wanted)), perms.policy(wanted))

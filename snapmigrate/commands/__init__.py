"""snapmigrate's commands as plain, documented functions, each taking a
:class:`Config` first (like alembic's ``command.py``).

The CLI (:mod:`snapmigrate.cli`) parses options, calls one of these and
renders what it returns; tests and the lab call them directly. A function
here checks its input before any change, asks through the ``confirm`` it is
given (None means ``--yes``), and returns records, never text.

- :mod:`.migration`: :func:`plan`, :func:`migrate`, :func:`resume`,
  :func:`status`, :func:`cleanup`;
- :mod:`.cutovers`: :func:`cutover`, :func:`prepare`, :func:`rollback`;
- :mod:`.checks`: :func:`verify`; :mod:`.policy`: :func:`permissions`.

Names load their module on first use, so ``verify`` of two URIs starts
without the AWS layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from snapmigrate.commands.config import Config, Confirm
from snapmigrate.lazy import exports

if TYPE_CHECKING:
    from snapmigrate.commands.checks import verify
    from snapmigrate.commands.cutovers import cutover, prepare, rollback
    from snapmigrate.commands.migration import (
        MigrateResult,
        PlanResult,
        cleanup,
        migrate,
        plan,
        resume,
        status,
    )
    from snapmigrate.commands.policy import Policy, PolicyNames, permissions

_HOMES = {
    "Policy": "policy",
    "PolicyNames": "policy",
    "permissions": "policy",
    "verify": "checks",
    "cutover": "cutovers",
    "prepare": "cutovers",
    "rollback": "cutovers",
    "MigrateResult": "migration",
    "PlanResult": "migration",
    "cleanup": "migration",
    "migrate": "migration",
    "plan": "migration",
    "resume": "migration",
    "status": "migration",
}

__all__ = [
    "Config",
    "Confirm",
    "MigrateResult",
    "PlanResult",
    "Policy",
    "PolicyNames",
    "cleanup",
    "cutover",
    "migrate",
    "permissions",
    "plan",
    "prepare",
    "resume",
    "rollback",
    "status",
    "verify",
]

__getattr__ = exports(__name__, _HOMES)

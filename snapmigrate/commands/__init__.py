"""snapmigrate's commands as plain, documented functions, each taking a
:class:`Config` first (like alembic's ``command.py``).

The CLI (:mod:`snapmigrate.cli`) parses options, calls one of these and
renders what it returns; tests and the lab call them directly. A function
here checks its input before any change, asks through the ``confirm`` it is
given (None means ``--yes``), and returns records, never text.

- :mod:`.migration`: :func:`plan`, :func:`migrate`, :func:`resume`,
  :func:`status`, :func:`cleanup`;
- :mod:`.cutovers`: :func:`cutover`, :func:`prepare`, :func:`rollback`;
- :mod:`.checks`: :func:`verify`; :mod:`.policy`: :func:`permissions`;
- :mod:`.inplace`: :func:`plan_compare`, :func:`iac`;
- :mod:`.clone`: :func:`clone_create`, :func:`clone_list`, :func:`clone_extend`,
  :func:`clone_protect`, :func:`clone_unprotect`, :func:`clone_reset`,
  :func:`clone_destroy`, :func:`clone_gc`.

Names load their module on first use, so ``verify`` of two URIs starts
without the AWS layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from snapmigrate.commands.config import Config, Confirm
from snapmigrate.lazy import exports

if TYPE_CHECKING:
    from snapmigrate.commands.checks import verify
    from snapmigrate.commands.clone import (
        CloneAnswer,
        ClonePlan,
        CloneSettings,
        clone_create,
        clone_destroy,
        clone_extend,
        clone_gc,
        clone_list,
        clone_protect,
        clone_reset,
        clone_runs,
        clone_unprotect,
    )
    from snapmigrate.commands.cutovers import cutover, prepare, rollback
    from snapmigrate.commands.drill import (
        drill_audit,
        drill_heartbeat,
        drill_history,
        drill_resume,
        drill_run,
    )
    from snapmigrate.commands.inplace import iac, plan_compare
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
    "CloneAnswer": "clone",
    "ClonePlan": "clone",
    "CloneSettings": "clone",
    "clone_create": "clone",
    "clone_destroy": "clone",
    "clone_extend": "clone",
    "clone_gc": "clone",
    "clone_list": "clone",
    "clone_protect": "clone",
    "clone_reset": "clone",
    "clone_runs": "clone",
    "clone_unprotect": "clone",
    "Policy": "policy",
    "PolicyNames": "policy",
    "permissions": "policy",
    "verify": "checks",
    "drill_audit": "drill",
    "drill_heartbeat": "drill",
    "drill_history": "drill",
    "drill_resume": "drill",
    "drill_run": "drill",
    "cutover": "cutovers",
    "plan_compare": "inplace",
    "iac": "inplace",
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
    "CloneAnswer",
    "ClonePlan",
    "CloneSettings",
    "Config",
    "Confirm",
    "MigrateResult",
    "PlanResult",
    "Policy",
    "PolicyNames",
    "cleanup",
    "clone_create",
    "clone_destroy",
    "clone_extend",
    "clone_gc",
    "clone_list",
    "clone_protect",
    "clone_reset",
    "clone_runs",
    "clone_unprotect",
    "cutover",
    "drill_audit",
    "drill_heartbeat",
    "drill_history",
    "drill_resume",
    "drill_run",
    "iac",
    "migrate",
    "permissions",
    "plan",
    "plan_compare",
    "prepare",
    "resume",
    "rollback",
    "status",
    "verify",
]

__getattr__ = exports(__name__, _HOMES)

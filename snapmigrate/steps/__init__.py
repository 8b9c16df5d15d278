"""The migration steps, one module each, in the order they run.

Each step module has the same small shape (like an alembic revision):

- ``NAME``: the stable name used in plans, journals and ``status``;
- ``PERMISSIONS``: the IAM actions it needs (``snapmigrate permissions``),
  and ``UNDO_PERMISSIONS`` for its ``undo``;
- ``plan(spec, source) -> Step | None``: its parameters, or None when the
  plan does not need it. ``plan`` and ``migrate`` both build steps this way,
  so what is shown is what runs;
- ``is_done(ctx, step) -> bool``: decided from AWS (resources found by id,
  ownership by the run's tag), not from the journal;
- ``apply(ctx, step) -> Outcome``: idempotent -- it creates only what is
  missing, then waits until AWS confirms the effect;
- ``undo(ctx, step) -> str``: removes what ``apply`` created (ours only);
- ``ids(ctx, step) -> dict``: the AWS ids the step stands for, from the plan.
"""

from __future__ import annotations

from types import ModuleType

from snapmigrate.errors import BadInput
from snapmigrate.model import SourceCluster, Step, TargetSpec
from snapmigrate.steps import instances, restore, settings, snapshot, upgrade, verify

#: Migration steps in order. Cutover is its own command, not a migrate step.
MIGRATION: tuple[ModuleType, ...] = (snapshot, restore, upgrade, instances, settings, verify)


def build(spec: TargetSpec, source: SourceCluster) -> tuple[Step, ...]:
    """The ordered steps for migrating ``source`` to ``spec``."""
    steps = (module.plan(spec, source) for module in MIGRATION)
    return tuple(step for step in steps if step is not None)


def module(name: str) -> ModuleType:
    """The step module called ``name`` (a plan file naming another step is bad input)."""
    for m in MIGRATION:
        if name == m.NAME:
            return m
    raise BadInput(f"the plan names an unknown step {name!r}: make it again with 'snapmigrate plan'")


def permissions() -> dict[str, tuple[str, ...]]:
    """Step name -> the IAM actions it needs."""
    return {module.NAME: tuple(module.PERMISSIONS) for module in MIGRATION}

"""The one shape of everything that changes AWS or a database: a :class:`Step`.

Like an alembic revision, a step is an identity and a pair of changes: it
declares its inputs (a frozen record, so mypy and the plan file agree on
them), the IAM actions it and its undo need (``snapmigrate permissions``
renders a least-privilege policy from them), and four methods:

- ``plan(basis)``: its inputs, or None when the workflow does not need it --
  ``plan`` shows exactly what ``migrate`` (or ``cutover``) then runs;
- ``is_done(ctx, inputs)``: decided from what AWS (or the database, or, for a
  step that leaves nothing behind, the journal) shows -- never assumed;
- ``apply(ctx, inputs)``: idempotent: creates only what is missing, waits
  until the effect is confirmed, and says what it did (:class:`Outcome`);
- ``undo(ctx, inputs)``: removes what ``apply`` made (only what this run
  made); None when there was nothing to undo.

A :class:`Workflow` is an ordered tuple of steps; the runner
(:mod:`snapmigrate.workflow.runner`) applies them and journals each one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from snapmigrate.errors import BadInput
from snapmigrate.model import PlannedStep
from snapmigrate.records import Record
from snapmigrate.waiting import WaitResult

BasisT = TypeVar("BasisT")  # what the steps of a workflow are planned from
ContextT = TypeVar("ContextT")  # the context they run in
InputsT = TypeVar("InputsT", bound=Record)  # a step's inputs


@dataclass(frozen=True)
class Outcome:
    """What ``apply`` did: one line for humans, the AWS ids it stands for, its
    journaled details (the step's own record type), its waits, and whether it
    is ``done``, ``skipped`` (could not run, says why) or ``failed`` (found
    differences)."""

    summary: str
    resources: Mapping[str, str] = field(default_factory=dict)
    details: Record | None = None
    waits: tuple[WaitResult, ...] = ()
    state: str = "done"


class Step(ABC, Generic[BasisT, ContextT, InputsT]):
    """One unit that changes AWS or a database, paired with its undo."""

    #: The stable name used in plans, journals, ``status`` and the policy.
    name: ClassVar[str]
    #: The record type of its inputs (the plan's ``params``).
    inputs: type[InputsT]
    #: The IAM actions ``apply`` needs, and those ``undo`` needs.
    permissions: ClassVar[tuple[str, ...]] = ()
    undo_permissions: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def plan(self, basis: BasisT) -> InputsT | None:
        """The inputs for ``basis``, or None when this workflow does not need the step."""

    @abstractmethod
    def describe(self, inputs: InputsT) -> str:
        """One line for the plan: what ``apply`` will do."""

    def ids(self, ctx: ContextT, inputs: InputsT) -> Mapping[str, str]:
        """The AWS ids the step stands for, known without calling AWS."""
        return {}

    @abstractmethod
    def is_done(self, ctx: ContextT, inputs: InputsT) -> bool:
        """Whether the effect is in place now (then ``apply`` is skipped)."""

    @abstractmethod
    def apply(self, ctx: ContextT, inputs: InputsT) -> Outcome:
        """Make the effect, idempotently, and wait until it is confirmed."""

    def undo(self, ctx: ContextT, inputs: InputsT) -> str | None:
        """Remove what ``apply`` made; None when there is nothing to undo."""
        return None


class Workflow(Generic[BasisT, ContextT]):
    """An ordered tuple of steps, planned from one basis, run in one context."""

    def __init__(self, name: str, steps: tuple[Step[BasisT, ContextT, Any], ...]) -> None:
        self.name = name
        self.steps = steps
        self._by_name = {s.name: s for s in steps}

    def plan(self, basis: BasisT) -> tuple[PlannedStep, ...]:
        """The steps ``basis`` needs, in order, with their inputs and summaries."""
        planned = []
        for step in self.steps:
            inputs = step.plan(basis)
            if inputs is not None:
                planned.append(PlannedStep(step.name, inputs, step.describe(inputs)))
        return tuple(planned)

    def step(self, name: str) -> Step[BasisT, ContextT, Any]:
        """The step called ``name`` (a plan naming another is bad input)."""
        try:
            return self._by_name[name]
        except KeyError:
            raise BadInput(
                f"the plan names an unknown step {name!r}: make it again with 'snapmigrate plan'"
            ) from None

    def decode(self, name: str, params: Mapping[str, Any]) -> Record:
        """A step's typed inputs from its ``params`` in a plan document."""
        try:
            return self.step(name).inputs.from_dict(params)
        except (TypeError, ValueError, KeyError) as e:
            raise BadInput(
                f"the plan's step {name!r} has unreadable params ({e}): "
                "make it again with 'snapmigrate plan'"
            ) from None

    def permissions(self) -> dict[str, tuple[str, ...]]:
        """Step name -> the IAM actions ``apply`` needs."""
        return {s.name: s.permissions for s in self.steps}

    def undo_permissions(self) -> tuple[str, ...]:
        return tuple(a for s in self.steps for a in s.undo_permissions)

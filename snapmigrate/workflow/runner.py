"""Apply a workflow's planned steps in order: the one loop migrate and cutover share.

For each step it asks first (``is_done``): what is already in place is
recorded and skipped. Otherwise it journals the step as running, applies it
(``apply`` waits until the effect is confirmed) and only then journals it
done -- like alembic, a step counts as done once its effect is seen and
recorded. Where and how a workflow journals its steps is its
:class:`Section`'s business (the run's steps, or the cutover's phases).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from snapmigrate.errors import DifferencesFound
from snapmigrate.model import PlannedStep
from snapmigrate.workflow.step import Outcome, Workflow

ContextT = TypeVar("ContextT")

#: ``on_event(kind, step_name)`` at every step boundary: ``before-step``,
#: ``step-started`` (journaled running), ``step-applied`` (confirmed, not yet
#: journaled), ``step-finished`` (journaled done).
EventHook = Callable[[str, str], None]


def no_events(kind: str, name: str) -> None:
    """The default :data:`EventHook`: nothing listens."""


class Section(Protocol):
    """Where a workflow journals its steps, saved after every change."""

    def begin(self, n: int, total: int, step: PlannedStep) -> None:
        """The ``n``-th of ``total`` steps is about to be looked at."""

    def confirmed(self, n: int, total: int, step: PlannedStep, ids: Mapping[str, str]) -> None:
        """``is_done`` said the step is in place: record it so (if not yet) and say so."""

    def started(self, n: int, total: int, step: PlannedStep) -> None:
        """The step is about to be applied: journal it running."""

    def finished(self, n: int, total: int, step: PlannedStep, outcome: Outcome) -> None:
        """``apply`` confirmed its effect: journal the outcome."""

    def failed(self, step: PlannedStep, error: BaseException) -> None:
        """``apply`` raised: journal that, before the error goes on."""


def run_steps(
    workflow: Workflow[Any, ContextT],
    ctx: ContextT,
    planned: Sequence[PlannedStep],
    section: Section,
    *,
    on_event: EventHook = no_events,
) -> None:
    """Apply ``planned`` (steps of ``workflow``) in order, journaling each in ``section``.

    A step whose outcome is ``failed`` (it found differences) stops the
    workflow with :class:`DifferencesFound`; any error propagates once the
    section has recorded it.
    """
    total = len(planned)
    for n, planned_step in enumerate(planned, 1):
        step = workflow.step(planned_step.name)
        inputs = planned_step.inputs
        section.begin(n, total, planned_step)
        on_event("before-step", step.name)
        if step.is_done(ctx, inputs):
            section.confirmed(n, total, planned_step, step.ids(ctx, inputs))
            on_event("step-finished", step.name)
            continue
        section.started(n, total, planned_step)
        on_event("step-started", step.name)
        try:
            outcome = step.apply(ctx, inputs)
        except BaseException as e:
            section.failed(planned_step, e)
            raise
        on_event("step-applied", step.name)
        section.finished(n, total, planned_step, outcome)
        on_event("step-finished", step.name)
        if outcome.state == "failed":
            raise DifferencesFound(f"{step.name}: {outcome.summary}")

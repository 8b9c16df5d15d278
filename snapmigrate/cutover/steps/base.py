"""What every cutover step shares: what they are planned from (:class:`Basis`),
the inputs of a step that needs none, and :class:`Phase`, a step done once the journal says so."""

from __future__ import annotations

from dataclasses import dataclass

from snapmigrate.cutover.context import CutoverContext
from snapmigrate.cutover.state import (
    CutoverOptions,
)
from snapmigrate.records import Record
from snapmigrate.workflow.step import InputsT, Step


@dataclass(frozen=True)
class Basis:
    """What the cutover's steps are planned from: its options, whether a
    resumed attempt finds the source frozen already, and whether the run's
    copy follows the source by logical replication (``--catch-up logical``)."""

    options: CutoverOptions
    after_freeze: bool = False
    catch_up: bool = False


class Phase(Step[Basis, CutoverContext, InputsT]):
    """A cutover step that is done once the journal says so."""

    def is_done(self, ctx: CutoverContext, inputs: InputsT) -> bool:
        return ctx.phase_done(self.name)


@dataclass(frozen=True)
class NoInputs(Record):
    """A step that needs nothing beyond its context."""

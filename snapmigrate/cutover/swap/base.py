"""What a way of moving clients is: the :class:`Swap` strategy every cutover mode implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from snapmigrate.aws import Aws, route53
from snapmigrate.cutover.context import CutoverContext
from snapmigrate.cutover.state import DEFAULT_TIMEOUT_S, CutoverOptions, CutoverState, Guardrail
from snapmigrate.errors import BadInput
from snapmigrate.model import CutoverSpec, Level, Plan, SourceCluster

if TYPE_CHECKING:
    from snapmigrate.plan.discover import ZoneState


class Swap(ABC):
    """One way of moving clients from the source to the target, and back."""

    mode: ClassVar[str]
    permissions: ClassVar[tuple[str, ...]]
    #: How long proving the swap may take unless ``--prove-timeout`` says otherwise.
    prove_window_s: ClassVar[float] = 120.0

    # -- the plan ---------------------------------------------------------

    @abstractmethod
    def check_plan(self, source_id: str, zone_id: str | None, record_name: str | None) -> None:
        """Bad input (exit 2) in ``plan --cutover MODE``'s options."""

    @abstractmethod
    def plan(
        self, source: SourceCluster, target: str, zone_id: str | None, record_name: str | None,
        zone: ZoneState | None,
    ) -> tuple[CutoverSpec, Level, str]:  # fmt: skip
        """The plan's cutover, and the preflight's finding about it."""

    # -- the cutover ------------------------------------------------------

    @abstractmethod
    def resolve(
        self, given: CutoverOptions, before: CutoverOptions | None, planned: CutoverSpec
    ) -> CutoverOptions:
        """``given`` completed from an earlier attempt, else from the plan; checked."""

    @abstractmethod
    def ready(self, ctx: CutoverContext) -> Guardrail:
        """The guardrail: the swap can be made (journals what it will change)."""

    def notes(self, ctx: CutoverContext) -> tuple[Guardrail, ...]:
        """Warnings about the swap the user should read before agreeing (they pass)."""
        return ()

    @abstractmethod
    def question(self, ctx: CutoverContext) -> str:
        """What the swap will do, for the confirmation prompt."""

    @abstractmethod
    def is_done(self, ctx: CutoverContext) -> bool:
        """Clients' name already leads to the target."""

    @abstractmethod
    def apply(self, ctx: CutoverContext) -> str:
        """Make the swap, wait until AWS confirms it; one line saying what changed."""

    @abstractmethod
    def undo(self, ctx: CutoverContext) -> str | None:
        """Put everything back as before the cutover; None when nothing was changed."""

    @abstractmethod
    def client_host(self, ctx: CutoverContext) -> str:
        """The host name clients use, which must lead to the target once swapped."""

    def prove_timeout(self, ctx: CutoverContext) -> float:
        """How long proving the swap may take."""
        return ctx.options.prove_timeout_s or self.prove_window_s

    def default_timeout_s(self, prove_s: float) -> float:
        """``--timeout`` when not given: enough for the freeze, the checks and the proof."""
        return max(DEFAULT_TIMEOUT_S, prove_s + DEFAULT_TIMEOUT_S / 2)

    def ttl_record(
        self, aws: Aws, options: CutoverOptions, points_at: str | None
    ) -> route53.Record:
        """The record whose TTL ``cutover --prepare`` lowers ahead of the cutover."""
        raise BadInput("--prepare lowers a DNS record's TTL: it needs --mode dns")

    # -- reports ----------------------------------------------------------

    def journaled(self, state: CutoverState, plan: Plan, run_id: str) -> Any:
        """What the swap changes, as the report's ``swap`` shows it (None: not this mode)."""
        return None

    def describe(self, swap: Mapping[str, Any]) -> str:
        """The mode as the report's headline names it."""
        return self.mode

    @abstractmethod
    def serving(self, plan: Plan, run_id: str, state: CutoverState) -> str:
        """What serves the clients once this swap was made (what is live)."""


def no_record_given(zone_id: str | None, record_name: str | None) -> None:
    """Bad input: a DNS record named for a cutover that swaps none."""
    if zone_id or record_name:
        raise BadInput("--dns-zone-id/--dns-name only apply with --cutover dns")

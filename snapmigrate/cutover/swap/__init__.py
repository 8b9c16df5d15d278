"""How clients are moved: one :class:`Swap` strategy per cutover mode, chosen once.

Each strategy knows the whole of its mode -- what the plan checks, how the
cutover's options are completed, the guardrail, the change and its undo,
the name clients use, how long proving it may take, and how reports show
it. This package is the one place a mode name is looked at: everything else
asks :func:`swap_for`. Adding a mode is adding a strategy to :data:`SWAPS`.

- :class:`DnsSwap`: point the Route 53 CNAME clients use (and the reader
  record, when given) at the target's endpoints, and wait until INSYNC.
- :class:`RenameSwap`: the source becomes ``<source>-old-<run>``, the target
  takes the source's name, and with it the endpoint host names clients use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from snapmigrate.cutover.state import CutoverState
from snapmigrate.cutover.swap.base import Swap, no_record_given
from snapmigrate.cutover.swap.dns import DnsSwap
from snapmigrate.cutover.swap.rename import RenameSwap
from snapmigrate.errors import BadInput
from snapmigrate.model import CutoverSpec, Level, Plan, SourceCluster
from snapmigrate.records import to_json

if TYPE_CHECKING:
    from snapmigrate.plan.discover import ZoneState

#: The plan's cutover when clients are not moved.
NO_CUTOVER = "none"

#: Every cutover mode, by the name ``--mode`` / ``--cutover`` takes.
SWAPS: dict[str, Swap] = {s.mode: s for s in (DnsSwap(), RenameSwap())}
MODES: tuple[str, ...] = tuple(SWAPS)


def swap_for(mode: str) -> Swap:
    """The strategy of ``mode`` (bad input when there is none)."""
    try:
        return SWAPS[mode]
    except KeyError:
        raise BadInput(f"--mode must be {' or '.join(MODES)}") from None


def check_plan_options(
    mode: str, source_id: str, zone_id: str | None, record_name: str | None
) -> None:
    """Bad input (exit 2) in the plan's ``--cutover`` options, before any AWS call."""
    if mode == NO_CUTOVER:
        no_record_given(zone_id, record_name)
        return
    if mode not in SWAPS:
        raise BadInput(f"--cutover must be {', '.join((NO_CUTOVER, *MODES[:-1]))} or {MODES[-1]}")
    SWAPS[mode].check_plan(source_id, zone_id, record_name)


def plan_cutover(
    mode: str, source: SourceCluster, target: str, zone_id: str | None, record_name: str | None,
    zone: ZoneState | None,
) -> tuple[CutoverSpec, Level, str]:  # fmt: skip
    """The plan's cutover and the preflight's finding about it."""
    if mode == NO_CUTOVER:
        return (
            CutoverSpec(),
            "ok",
            ("no cutover planned: clients keep using the source until 'snapmigrate cutover'"),
        )
    return SWAPS[mode].plan(source, target, zone_id, record_name, zone)


def planned_swap(spec: CutoverSpec) -> Swap | None:
    """The plan's swap strategy, None when the plan moves no clients."""
    return SWAPS.get(spec.mode)


def journaled(state: CutoverState, plan: Plan, run_id: str) -> dict[str, Any]:
    """What each mode's swap changes (the cutover report's ``swap``: the mode's key set)."""
    return {mode: to_json(swap.journaled(state, plan, run_id)) for mode, swap in SWAPS.items()}


def serving(plan: Plan, run_id: str, state: CutoverState) -> str:
    """What serves the clients after the cutover ``state`` describes (what is live)."""
    strategy = SWAPS.get(state.mode or "")
    if strategy is None:
        return f"{plan.target.identifier} takes the clients' writes"
    return strategy.serving(plan, run_id, state)


def describe(mode: str | None, swap: Mapping[str, Any]) -> str:
    """The cutover's mode as reports name it (``-`` when none was chosen)."""
    strategy = SWAPS.get(mode or "")
    return strategy.describe(swap) if strategy else (mode or "-")

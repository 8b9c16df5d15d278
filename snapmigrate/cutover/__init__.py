"""The cutover: move a migrated run's clients to its target, prove it, keep a way back.

- :mod:`.steps`: the phases, as steps of the one shape (the ``CUTOVER`` workflow);
- :mod:`.swap`: one strategy per mode (DNS record, cluster rename), chosen once;
- :mod:`.options`, :mod:`.guardrails`: the pure decisions, before anything runs;
- :mod:`.state`: the run journal's ``cutover`` section, typed;
- :mod:`.run`: :class:`Cutover` -- run, resume, roll back; :mod:`.prepare`: ``--prepare``.

The names below load their module on first use (``status`` reads the state
without the machinery).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from snapmigrate.lazy import exports

if TYPE_CHECKING:
    from snapmigrate.cutover.prepare import PrepareResult, prepare_dns
    from snapmigrate.cutover.run import Cutover, CutoverResult
    from snapmigrate.cutover.state import CutoverOptions, CutoverState

_HOMES = {
    "PrepareResult": "prepare",
    "prepare_dns": "prepare",
    "Cutover": "run",
    "CutoverResult": "run",
    "CutoverOptions": "state",
    "CutoverState": "state",
}

__all__ = [
    "Cutover",
    "CutoverOptions",
    "CutoverResult",
    "CutoverState",
    "PrepareResult",
    "prepare_dns",
]

__getattr__ = exports(__name__, _HOMES)

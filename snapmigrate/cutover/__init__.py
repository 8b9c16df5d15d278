"""The cutover: move a migrated run's clients to its target, prove it, keep a way back.

- :mod:`.steps`: the phases, as steps of the one shape (the :data:`CUTOVER` workflow);
- :mod:`.swap`: one strategy per mode (DNS record, cluster rename), chosen once;
- :mod:`.options`, :mod:`.guardrails`: the pure decisions, before anything runs;
- :mod:`.state`: the run journal's ``cutover`` section, typed;
- :mod:`.run`: :class:`Cutover` -- run, resume, roll back; :mod:`.prepare`: ``--prepare``.
"""

from snapmigrate.cutover.prepare import PrepareResult, prepare_dns
from snapmigrate.cutover.run import Cutover, CutoverResult
from snapmigrate.cutover.state import CutoverOptions, CutoverState

__all__ = [
    "Cutover",
    "CutoverOptions",
    "CutoverResult",
    "CutoverState",
    "PrepareResult",
    "prepare_dns",
]

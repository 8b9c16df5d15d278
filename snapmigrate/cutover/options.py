"""The cutover's options, decided before anything runs: pure, no AWS, no PostgreSQL.

What the user gave wins; what they left out comes from an earlier attempt of
the same run, else from the plan (``migrate --cutover MODE``). The mode's own
part (a DNS record to name, flags that apply to one mode only) is its swap
strategy's (:mod:`snapmigrate.cutover.swap`).
"""

from __future__ import annotations

from dataclasses import replace

from snapmigrate.cutover.state import CutoverOptions, CutoverState
from snapmigrate.cutover.swap import planned_swap, swap_for
from snapmigrate.errors import BadInput
from snapmigrate.model import CutoverSpec

VERIFY_MODES = ("checksum", "counts")


def resolve_options(
    given: CutoverOptions | None, planned: CutoverSpec, earlier: CutoverState
) -> CutoverOptions:
    """The options to cut over with, or :class:`BadInput` (exit 2) saying what is missing.

    ``mode=""`` in ``given`` means "not given".
    """
    given = given or CutoverOptions(mode="")
    before = earlier.options
    from_plan = planned_swap(planned)
    mode = given.mode or (before.mode if before else "") or (from_plan.mode if from_plan else "")
    if not mode:
        raise BadInput(
            "say how to cut over: --mode dns (with --dns-zone-id and --dns-name) or --mode rename"
        )
    swap = swap_for(mode)
    if earlier.unfinished and earlier.mode not in (None, mode):
        raise BadInput(
            f"a {earlier.mode} cutover of this run is unfinished: resume it with --mode "
            f"{earlier.mode} or roll it back first with 'snapmigrate rollback'"
        )
    options = swap.resolve(replace(given, mode=mode), before, planned)
    if options.verify_mode not in VERIFY_MODES:
        raise BadInput(f"--verify must be {' or '.join(VERIFY_MODES)}")
    limits = (options.timeout_s, options.long_transaction_s, options.prove_timeout_s)
    if any(limit is not None and limit <= 0 for limit in limits):
        raise BadInput(
            "--timeout, --prove-timeout and --long-transaction-seconds must be positive"
        )
    prove = options.prove_timeout_s or swap.prove_window_s
    timeout = options.timeout_s or swap.default_timeout_s(prove)
    if timeout <= prove:
        raise BadInput(
            f"--timeout ({timeout / 60:g} min) must be longer than the proof window "
            f"({prove / 60:g} min): the proof runs while the source is frozen"
        )
    return replace(options, timeout_s=timeout)

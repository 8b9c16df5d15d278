"""The cutover's commands: ``cutover`` (and ``--prepare``), ``rollback``."""

from __future__ import annotations

from snapmigrate.commands.config import Config, Confirm
from snapmigrate.cutover import Cutover, CutoverOptions, CutoverResult, PrepareResult, prepare_dns
from snapmigrate.workflow.journal import check_run_id


def _cutover(config: Config, run_id: str, confirm: Confirm | None) -> Cutover:
    """The cutover of run ``run_id``: its id and the connect map checked first."""
    check_run_id(run_id)
    config.check_connect_map()
    return cutover_for(config, confirm)


def cutover_for(config: Config, confirm: Confirm | None) -> Cutover:
    """A :class:`Cutover` with this config's clients, journal, connect map and display."""
    return Cutover(
        config.clients(),
        config.journal(),
        connect_map=config.connect_map,
        clock=config.clock,
        progress=config.progress,
        say=config.say,
        confirm=confirm,
    )


def cutover(
    config: Config, run_id: str, options: CutoverOptions, *, confirm: Confirm | None = None
) -> CutoverResult:
    """Cut the clients of migration run ``run_id`` over to its target: guardrails,
    freeze, catch-up, verify, swap, prove; a failure or timeout after the freeze
    rolls back. Re-running continues an interrupted cutover."""
    return _cutover(config, run_id, confirm).run(run_id, options)


def prepare(config: Config, run_id: str, options: CutoverOptions, ttl: int) -> PrepareResult:
    """``cutover --prepare``: lower the record's TTL to ``ttl`` and wait one old TTL."""
    return prepare_dns(_cutover(config, run_id, None), run_id, options, ttl)


def rollback(config: Config, run_id: str, *, confirm: Confirm | None = None) -> CutoverResult:
    """Undo the cutover of ``run_id`` (swap back, unfreeze), or lift a freeze
    ``migrate --freeze-before-snapshot`` made. Writes the target took since the
    cutover are counted, not copied back. Idempotent."""
    return _cutover(config, run_id, confirm).rollback(run_id)

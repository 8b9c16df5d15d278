"""``snapmigrate clone``: throwaway copies of a cluster for testing -- created in
minutes, masked with proof, expiring on their own. Each function takes a
:class:`Config` first, checks its input before any change, asks through
``confirm`` (None means ``--yes``) and returns records.

Clones live in AWS (their tags are the truth); ``create`` and ``reset`` also
journal what they did in ``<state-dir>/clones/`` (``snapmigrate status``
shows it), with a copy of the masking rules for ``reset``.
"""

from __future__ import annotations

from collections.abc import Callable

from snapmigrate.aws import Aws, RetryPolicy
from snapmigrate.clone import manage
from snapmigrate.clone import reset as resetting
from snapmigrate.clone.context import CloneSettings
from snapmigrate.clone.journal import clones_journal, mark_gone
from snapmigrate.clone.lease import parse_duration, parse_until, utc_now
from snapmigrate.clone.options import check_options
from snapmigrate.clone.runner import ClonePlan, CloneRunner
from snapmigrate.clone.view import CloneAnswer, CreateResult, DestroyResult, ListResult
from snapmigrate.commands.config import Config, Confirm
from snapmigrate.plan.options import check_identifier
from snapmigrate.waiting import SystemClock, Waiter
from snapmigrate.workflow.journal import RunRecord

OnPlan = Callable[[ClonePlan], None]

__all__ = [
    "CloneAnswer",
    "ClonePlan",
    "CloneSettings",
    "clone_create",
    "clone_destroy",
    "clone_extend",
    "clone_gc",
    "clone_list",
    "clone_protect",
    "clone_reset",
    "clone_runs",
    "clone_unprotect",
]


def clone_runner(config: Config, settings: CloneSettings | None) -> CloneRunner:
    config.check_connect_map()
    clock = config.clock or SystemClock()
    aws = Aws(config.clients(), policy=RetryPolicy(), sleep=clock.sleep)
    waiter = Waiter(clock=clock, progress=config.progress, counter=aws.counter)
    settings = settings or CloneSettings()
    if config.connect_map and not settings.connect_map:
        settings = CloneSettings(**{**settings.__dict__, "connect_map": config.connect_map})
    return CloneRunner(
        aws,
        waiter,
        clones_journal(config.state_dir),
        settings,
        now=config.now or utc_now,
        progress=config.progress,
    )


def clone_create(
    config: Config,
    source: str,
    name: str,
    *,
    method: str = "cow",
    snapshot: str | None = None,
    restore_time: str | None = None,
    latest: bool = False,
    ttl: str | None = None,
    acu: str | None = None,
    readers: int = 0,
    mask: str | None = None,
    settings: CloneSettings | None = None,
    confirm: Confirm | None = None,
    on_plan: OnPlan | None = None,
) -> CreateResult:
    """Clone ``source`` as ``name``: preflight, show the plan (``on_plan``), ask, restore,
    a db.serverless writer, SELECT 1 -- then, with ``mask`` (a rules file), mask and
    prove. A failure once the clone exists destroys it; a leak is exit 3."""
    options = check_options(
        source,
        name,
        method=method,
        snapshot=snapshot,
        restore_time=restore_time,
        latest=latest,
        ttl=ttl,
        acu=acu,
        readers=readers,
        mask_file=mask,
    )
    return clone_runner(config, settings).create(options, confirm=confirm, on_plan=on_plan)


def clone_list(
    config: Config, *, source: str | None = None, all_owners: bool = False
) -> ListResult:
    """The region's clones: the caller's, or everyone's (``all_owners``)."""
    runner = clone_runner(config, None)
    return manage.list_clones(runner.aws, runner.now(), source=source, all_owners=all_owners)


def clone_extend(config: Config, name: str, ttl: str) -> CloneAnswer:
    """The clone now expires ``ttl`` from now."""
    runner = clone_runner(config, None)
    until = runner.now() + parse_duration(ttl)
    return manage.extend(runner.aws, check_identifier(name, "clone name"), until)


def clone_protect(config: Config, name: str, until: str) -> CloneAnswer:
    """Nothing destroys or resets the clone before ``until`` (ISO 8601 or a duration)."""
    runner = clone_runner(config, None)
    when = parse_until(until, runner.now())
    return manage.protect(runner.aws, check_identifier(name, "clone name"), when)


def clone_unprotect(config: Config, name: str) -> CloneAnswer:
    runner = clone_runner(config, None)
    return manage.unprotect(runner.aws, check_identifier(name, "clone name"))


def clone_reset(
    config: Config,
    name: str,
    to: str = "latest",
    *,
    mask: str | None = None,
    settings: CloneSettings | None = None,
    confirm: Confirm | None = None,
    on_plan: OnPlan | None = None,
) -> CreateResult:
    """A fresh copy of the source under the same name and endpoint, masked again."""
    runner = clone_runner(config, settings)
    name = check_identifier(name, "clone name")
    made = resetting.reset(runner, name, to, mask_file=mask, confirm=confirm, on_plan=on_plan)
    mark_gone(runner.journal, [name], f"replaced by reset {made.run_id}", keep=made.run_id)
    return made


def clone_destroy(
    config: Config,
    name: str,
    *,
    confirm: Confirm | None = None,
    settings: CloneSettings | None = None,
) -> DestroyResult:
    """Delete the clone (no final snapshot) and wait until it is gone; a protected
    clone, or a cluster that is not a clone, is refused (exit 2, nothing changed)."""
    runner = clone_runner(config, settings)
    name = check_identifier(name, "clone name")
    gone = manage.destroy_one(
        runner.aws, name, runner.waiter, runner.settings, runner.now(), confirm, runner.stamp
    )
    mark_gone(runner.journal, gone.destroyed, "destroyed (clone destroy)")
    return gone


def clone_gc(
    config: Config,
    *,
    dry_run: bool = False,
    confirm: Confirm | None = None,
    settings: CloneSettings | None = None,
) -> DestroyResult:
    """Destroy every expired, unprotected clone the caller may see (``dry_run``: say which)."""
    runner = clone_runner(config, settings)
    swept = manage.gc(
        runner.aws,
        runner.waiter,
        runner.settings,
        runner.now(),
        dry_run=dry_run,
        confirm=confirm,
        stamp=runner.stamp,
    )
    if not swept.dry_run:
        mark_gone(runner.journal, swept.destroyed, "destroyed (clone gc)")
    return swept


def clone_runs(config: Config) -> list[RunRecord]:
    """The creates and resets journaled in ``<state-dir>/clones/`` (newest first)."""
    return clones_journal(config.state_dir).runs()

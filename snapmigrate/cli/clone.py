"""``snapmigrate clone create|list|extend|protect|unprotect|reset|destroy|gc``:
throwaway copies of a cluster for testing. Thin: parse, call one command of
:mod:`snapmigrate.commands.clone`, render with :mod:`snapmigrate.report.clone`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from snapmigrate import commands
from snapmigrate.cli import AppContext, app_context, configure_logging, emit, global_options
from snapmigrate.cli.options import state_dir_option, terminal_asker, yes_option
from snapmigrate.commands import CloneAnswer, ClonePlan, CloneSettings, Config
from snapmigrate.report import clone as report

F = TypeVar("F", bound=Callable[..., Any])


def _show_plan(app: AppContext, yes: bool) -> Callable[[ClonePlan], None]:
    """The plan before it is applied: on stdout, or on stderr when stdout is JSON."""

    def show(shown: ClonePlan) -> None:
        text = report.plan_table(shown)
        if not app.json:
            click.echo(text)
        elif not app.quiet or not yes:
            click.echo(text, err=True)

    return show


def _answer(run: Callable[[Config], CloneAnswer], state_dir: str | None) -> None:
    """A lease command: the clone as it now is."""
    app = app_context()
    configure_logging(app)
    answer = run(app.config(state_dir))
    emit(app, answer.to_dict(), lambda: report.answer_table(answer))


def _settings(no_connect: bool, timeout_minutes: float | None) -> CloneSettings:
    if timeout_minutes:
        return CloneSettings(connect=not no_connect, timeout_s=timeout_minutes * 60)
    return CloneSettings(connect=not no_connect)


def _wait_options(f: F) -> F:
    return click.option(
        "--timeout-minutes",
        type=click.FloatRange(min=0, min_open=True),
        help="Give up waiting after this long, for every wait (default 8 h).",
    )(f)


@click.group(short_help="Throwaway copies of a cluster for testing: masked, expiring.")
@global_options
def clone() -> None:
    """Clones for testing: a copy of SOURCE in minutes (an Aurora copy-on-write
    clone by default), masked with proof when asked (--mask RULES.toml), expiring
    on its own (--ttl). The clone's tags hold the truth (snapmigrate:kind=clone,
    its source, expiry, protection, owner): no daemon; 'clone gc' from cron or CI
    destroys what expired. Clones are disposable: deleted without a final snapshot.

    Exit 0 done, 1 failed while running, 2 bad input (nothing changed), 3 the
    masking proof failed (the clone was destroyed), 4 preflight blocked,
    130 interrupted.
    """


@clone.command(short_help="Create a clone of SOURCE (asks first).")
@click.argument("source")
@click.option("--name", required=True, help="The clone's cluster identifier.")
@click.option(
    "--method",
    type=click.Choice(["cow", "snapshot", "pitr"]),
    default="cow",
    show_default=True,
    help="cow: copy-on-write clone of the latest data (fast); snapshot: restore --snapshot "
    "or the latest automated snapshot; pitr: a full copy at --restore-time.",
)
@click.option("--snapshot", metavar="ID", help="The snapshot to restore (--method snapshot).")
@click.option(
    "--restore-time", metavar="ISO8601", help="The time to restore to (--method pitr), with a zone."
)
@click.option("--latest", is_flag=True, help="The latest restorable time (the default).")
@click.option(
    "--ttl", metavar="DURATION", help="Expire after this long: 90s, 15m, 8h, 2d (default 24h)."
)
@click.option(
    "--acu",
    metavar="MIN-MAX",
    help="Serverless v2 range (default 0-4 where the version pauses, else 0.5-4).",
)
@click.option("--readers", type=int, default=0, show_default=True, help="db.serverless readers.")
@click.option(
    "--mask",
    metavar="RULES.toml",
    type=click.Path(dir_okay=False),
    help="Mask with these rules, then prove nothing leaked (see docs/clone.md).",
)
@click.option("--no-connect", is_flag=True, help="Skip SELECT 1 (no network path; no --mask).")
@_wait_options
@yes_option
@state_dir_option
@global_options
def create(
    source: str,
    name: str,
    method: str,
    snapshot: str | None,
    restore_time: str | None,
    latest: bool,
    ttl: str | None,
    acu: str | None,
    readers: int,
    mask: str | None,
    no_connect: bool,
    timeout_minutes: float | None,
    yes: bool,
    state_dir: str | None,
) -> None:
    """Clone SOURCE as --name: check (the rules against SOURCE's catalog too), show the
    plan, ask (or --yes), restore, add a db.serverless writer, SELECT 1; with --mask,
    mask and prove. Any failure once the clone exists destroys it."""
    app = app_context()
    configure_logging(app)
    result = commands.clone_create(
        app.config(state_dir),
        source,
        name,
        method=method,
        snapshot=snapshot,
        restore_time=restore_time,
        latest=latest,
        ttl=ttl,
        acu=acu,
        readers=readers,
        mask=mask,
        settings=_settings(no_connect, timeout_minutes),
        confirm=terminal_asker(yes, "clone create creates AWS resources and"),
        on_plan=_show_plan(app, yes),
    )
    emit(app, result.to_dict(), lambda: report.create_table(result))


@clone.command(name="list", short_help="List your clones (or everyone's).")
@click.option("--source", metavar="SOURCE", help="Only clones of this cluster.")
@click.option("--all-owners", is_flag=True, help="Everyone's clones, not only yours.")
@state_dir_option
@global_options
def list_(source: str | None, all_owners: bool, state_dir: str | None) -> None:
    """The region's clones: name, source, status, expiry, protection, age, owner."""
    app = app_context()
    configure_logging(app)
    result = commands.clone_list(app.config(state_dir), source=source, all_owners=all_owners)
    emit(app, result.to_dict(), lambda: report.list_table(result))


@clone.command(short_help="Expire NAME at now + --ttl.")
@click.argument("name")
@click.option("--ttl", required=True, metavar="DURATION", help="90s, 15m, 8h, 2d...")
@state_dir_option
@global_options
def extend(name: str, ttl: str, state_dir: str | None) -> None:
    """The clone NAME now expires --ttl from now (does not ask)."""
    _answer(lambda config: commands.clone_extend(config, name, ttl), state_dir)


@clone.command(short_help="Keep NAME from destroy, gc and reset until a time.")
@click.argument("name")
@click.option("--until", required=True, metavar="ISO8601|DURATION", help="e.g. 2d or a time.")
@state_dir_option
@global_options
def protect(name: str, until: str, state_dir: str | None) -> None:
    """Neither destroy, gc nor reset touches NAME before --until (does not ask)."""
    _answer(lambda config: commands.clone_protect(config, name, until), state_dir)


@clone.command(short_help="Remove NAME's protection.")
@click.argument("name")
@state_dir_option
@global_options
def unprotect(name: str, state_dir: str | None) -> None:
    """NAME may be destroyed again (and collected once expired)."""
    _answer(lambda config: commands.clone_unprotect(config, name), state_dir)


@clone.command(short_help="A fresh copy under the same name and endpoint (asks first).")
@click.argument("name")
@click.option(
    "--to", default="latest", show_default=True, metavar="latest|ISO8601", help="Data as of when."
)
@click.option(
    "--mask",
    metavar="RULES.toml",
    type=click.Path(dir_okay=False),
    help="Mask with these rules (default: the clone's own, kept at create).",
)
@click.option("--no-connect", is_flag=True, help="Skip SELECT 1 (no masked clone).")
@_wait_options
@yes_option
@state_dir_option
@global_options
def reset(
    name: str,
    to: str,
    mask: str | None,
    no_connect: bool,
    timeout_minutes: float | None,
    yes: bool,
    state_dir: str | None,
) -> None:
    """Delete NAME and make it again from its source (the same method; --to TIME: a
    point-in-time restore), masked again: the endpoint stays, the data is fresh."""
    app = app_context()
    configure_logging(app)
    result = commands.clone_reset(
        app.config(state_dir),
        name,
        to,
        mask=mask,
        settings=_settings(no_connect, timeout_minutes),
        confirm=terminal_asker(yes, "clone reset deletes a clone and"),
        on_plan=_show_plan(app, yes),
    )
    emit(app, result.to_dict(), lambda: report.create_table(result))


@clone.command(short_help="Delete NAME (asks first); refuses a protected clone.")
@click.argument("name")
@_wait_options
@yes_option
@state_dir_option
@global_options
def destroy(name: str, timeout_minutes: float | None, yes: bool, state_dir: str | None) -> None:
    """Delete the clone NAME and its instances, without a final snapshot, and wait until
    it is gone. A protected clone or a cluster that is not a clone: exit 2."""
    app = app_context()
    configure_logging(app)
    result = commands.clone_destroy(
        app.config(state_dir),
        name,
        confirm=terminal_asker(yes, "clone destroy deletes a clone and"),
        settings=_settings(False, timeout_minutes),
    )
    emit(app, result.to_dict(), lambda: report.destroy_table(result))


@clone.command(short_help="Destroy every expired, unprotected clone (asks first).")
@click.option("--dry-run", is_flag=True, help="Say what would go and why the rest stays.")
@_wait_options
@yes_option
@state_dir_option
@global_options
def gc(dry_run: bool, timeout_minutes: float | None, yes: bool, state_dir: str | None) -> None:
    """Destroy every expired, unprotected clone you may see, and say why each other clone
    stays. Safe from cron or CI with --yes."""
    app = app_context()
    configure_logging(app)
    result = commands.clone_gc(
        app.config(state_dir),
        dry_run=dry_run,
        confirm=None if dry_run else terminal_asker(yes, "clone gc deletes clones and"),
        settings=_settings(False, timeout_minutes),
    )
    emit(app, result.to_dict(), lambda: report.destroy_table(result))

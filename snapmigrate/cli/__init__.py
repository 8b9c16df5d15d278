"""The command line: parse, call one documented function, render. No AWS or SQL here.

Commands live in submodules (``snapmigrate.cli.plan`` ...) imported only when
run, so ``snapmigrate --help`` stays fast. Errors are caught in one place,
:func:`main`, and turned into a one-line message and the documented exit code.
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import click

from snapmigrate import __version__
from snapmigrate.errors import (
    EXIT_INTERRUPTED,
    SnapmigrateError,
)

if TYPE_CHECKING:
    from snapmigrate.aws import Clients
    from snapmigrate.commands import Config

F = TypeVar("F", bound=Callable[..., Any])

#: name -> (module:attribute, one-line help). Imported on demand.
COMMANDS: dict[str, tuple[str, str]] = {
    "plan": (
        "snapmigrate.cli.plan:plan",
        "Inspect a source cluster, run the preflight, print the plan.",
    ),
    "lab": (
        "snapmigrate_lab.cli:lab",
        "The local Aurora (moto + real PostgreSQL): up, down, env, knobs, load, demo.",
    ),
    "verify": (
        "snapmigrate.cli.verify:verify",
        "Compare two databases or clusters: schema, row counts, checksums.",
    ),
    "migrate": (
        "snapmigrate.cli.migrate:migrate",
        "Plan, ask, then apply: snapshot, restore as Serverless v2, instances, settings.",
    ),
    "status": ("snapmigrate.cli.status:status", "Show a run's journal, or list the runs."),
    "iac": (
        "snapmigrate.cli.iac:iac",
        "The cluster a run left, as Terraform or CloudFormation to adopt.",
    ),
    "cleanup": (
        "snapmigrate.cli.cleanup:cleanup",
        "Delete what a run created (by its tags), nothing else.",
    ),
    "permissions": (
        "snapmigrate.cli.permissions:permissions",
        "Print the least-privilege IAM policy snapmigrate needs.",
    ),
    "cutover": (
        "snapmigrate.cli.cutover:cutover",
        "Freeze the source, verify, swap DNS or names, prove; rolls back on failure.",
    ),
    "rollback": (
        "snapmigrate.cli.cutover:rollback",
        "Undo a cutover: swap back, unfreeze the source.",
    ),
    "clone": (
        "snapmigrate.cli.clone:clone",
        "Throwaway copies for testing: create, list, extend, protect, reset, destroy, gc.",
    ),
    "drill": (
        "snapmigrate.cli.drill:drill",
        "DR rehearsals: restore a backup, measure RTO and RPO, check the data, tear down.",
    ),
}

log = logging.getLogger("snapmigrate")


@dataclass
class AppContext:
    """The global options, shared by every command through ``click.Context.obj``."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    output: str = "table"
    verbosity: int = 0
    connect_map: str | None = None
    _clients: Clients | None = field(default=None, repr=False)

    @property
    def json(self) -> bool:
        return self.output == "json"

    @property
    def quiet(self) -> bool:
        return self.verbosity < 0

    def say(self, text: str) -> None:
        """A progress line on stderr (stdout is the result's), nothing with -q."""
        if not self.quiet:
            click.echo(text, err=True)

    def config(self, state_dir: str | None = None) -> Config:
        """What the commands start from: these options, the state directory, the
        progress display (bars on a terminal, log lines otherwise, nothing with -q)."""
        from snapmigrate.commands import Config
        from snapmigrate.progress import progress_for

        config = Config.from_options(
            profile=self.profile,
            region=self.region,
            endpoint_url=self.endpoint_url,
            state_dir=state_dir,
            connect_map=self.connect_map,
            progress=progress_for(quiet=self.quiet),
            clients=self._clients,
        )
        self._clients = config.clients()
        return config


def _setter(attr: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        app = ctx.ensure_object(AppContext)
        if value is None or (param.multiple if isinstance(param, click.Option) else False):
            return
        if attr == "verbosity":
            if value:
                app.verbosity = value
            return
        if attr == "quiet":
            if value:
                app.verbosity = -1
            return
        setattr(app, attr, value)

    return callback


def global_options(f: F) -> F:
    """The global options, accepted before or after the command name."""
    options = [
        click.option(
            "--profile",
            envvar="AWS_PROFILE",
            help="AWS named profile.",
            expose_value=False,
            callback=_setter("profile"),
        ),
        click.option(
            "--region",
            envvar=["AWS_REGION", "AWS_DEFAULT_REGION"],
            help="AWS region.",
            expose_value=False,
            callback=_setter("region"),
        ),
        click.option(
            "--endpoint-url",
            envvar="AWS_ENDPOINT_URL",
            help="AWS endpoint (moto, the lab, a VPC endpoint).",
            expose_value=False,
            callback=_setter("endpoint_url"),
        ),
        click.option(
            "--connect-map",
            envvar="SNAPMIGRATE_CONNECT_MAP",
            type=click.Path(dir_okay=False),
            help="JSON file routing endpoint host:port to where to really connect "
            "(tunnels, the lab).",
            expose_value=False,
            callback=_setter("connect_map"),
        ),
        click.option(
            "--output",
            "-o",
            type=click.Choice(["table", "json"]),
            help="Result format on stdout (progress and logs go to stderr).",
            expose_value=False,
            callback=_setter("output"),
        ),
        click.option(
            "-v",
            "--verbose",
            count=True,
            help="More logs; tracebacks on errors.",
            expose_value=False,
            callback=_setter("verbosity"),
        ),
        click.option(
            "-q",
            "--quiet",
            is_flag=True,
            default=None,
            help="Only the result and errors.",
            expose_value=False,
            callback=_setter("quiet"),
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


class LazyGroup(click.Group):
    """The top-level group: commands imported only when they run, errors mapped to exit codes."""

    def __init__(
        self, *args: Any, lazy: dict[str, tuple[str, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            target, _ = self.lazy[cmd_name]
            module, attr = target.split(":")
            command: click.Command = getattr(importlib.import_module(module), attr)
            return command
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List commands from their one-line help without importing them."""
        rows = [(name, self.lazy[name][1]) for name in sorted(self.lazy)]
        rows += [
            (name, cmd.get_short_help_str())
            for name, cmd in sorted(self.commands.items())
            if name not in self.lazy and not cmd.hidden
        ]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run, then turn our errors into one line on stderr and the documented exit code."""
        kwargs["standalone_mode"] = False
        app = kwargs.setdefault("obj", AppContext())
        try:
            rv = super().main(*args, **kwargs)
        except SnapmigrateError as e:
            if app.verbosity > 0:
                traceback.print_exc()
            click.echo(f"snapmigrate: error: {e}", err=True)
            sys.exit(e.exit_code)
        except (KeyboardInterrupt, click.exceptions.Abort):
            click.echo("\nsnapmigrate: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except click.ClickException as e:
            e.show()
            sys.exit(e.exit_code)
        except click.exceptions.Exit as e:
            sys.exit(e.exit_code)
        sys.exit(rv if isinstance(rv, int) else 0)


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="snapmigrate")
@global_options
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Move Aurora PostgreSQL clusters (Serverless v1 above all) to Serverless v2
    by snapshot and restore: plan, migrate, verify, cut over, roll back.

    Exit codes: 0 done, 1 failed while running, 2 bad input (nothing changed),
    3 verification found differences, 4 preflight blocked, 130 interrupted.
    """
    ctx.ensure_object(AppContext)


def app_context() -> AppContext:
    """The current command's :class:`AppContext`."""
    return click.get_current_context().ensure_object(AppContext)


def configure_logging(app: AppContext) -> None:
    level = logging.DEBUG if app.verbosity > 0 else logging.WARNING if app.quiet else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger("snapmigrate")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    if app.verbosity > 1:
        logging.getLogger("botocore").setLevel(logging.DEBUG)
        logging.getLogger("botocore").addHandler(handler)


def emit(app: AppContext, data: dict[str, Any], text: str | Callable[[], str]) -> None:
    """Print a result: ``data`` as one JSON document, or ``text`` as the human table."""
    if app.json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        click.echo(text() if callable(text) else text)


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="snapmigrate")

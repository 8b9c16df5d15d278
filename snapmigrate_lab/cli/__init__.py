"""``snapmigrate lab up|down|env|knobs|load|demo``: the local Aurora.

The ``lab`` group (registered in ``snapmigrate.cli.COMMANDS``) and its commands,
one module each: :mod:`.updown` (up, down, env), :mod:`.knobs`, :mod:`.load`,
:mod:`.demo`; :mod:`.options` holds the options they share.
"""

from __future__ import annotations

import click

from snapmigrate.cli import global_options
from snapmigrate_lab.cli import demo, knobs, load, updown


@click.group(short_help="The local Aurora: moto + real PostgreSQL servers.")
@global_options
def lab() -> None:
    """A local Aurora for trying snapmigrate without an AWS account: moto's
    server for RDS, Route 53 and Secrets Manager, with one real PostgreSQL
    server per Aurora PostgreSQL cluster, kept in step (snapshots are physical
    copies, restores start servers from them, renames and deletes follow)."""


for command in (updown.up, updown.down, updown.env, knobs.knobs, load.load, demo.demo):
    lab.add_command(command)

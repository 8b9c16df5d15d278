"""Run a catch-up migration or cutover and kill the process (``os._exit``, no
cleanup) at a given point.

``python -m tests.catchup.crasher LAB_DIR STATE_DIR migrate PLAN_FILE POINT``
``python -m tests.catchup.crasher LAB_DIR STATE_DIR cutover RUN_ID POINT ZONE RECORD``

POINT is ``<event>:<step>`` (``before-step``, ``started``, ``applied``,
``finished``), or ``after:<function>``: right after the first call of one of
:data:`FUNCTIONS` returned (a slot created, a subscription created ...), or
``after:RebootDBInstance`` (the reboot requested).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

#: Functions the steps call through their module, by the name a POINT uses.
FUNCTIONS = {
    "create_slot": ("snapmigrate.db.logical", "create_slot"),
    "set_replica_identity": ("snapmigrate.db.logical", "set_replica_identity"),
    "create_subscription": ("snapmigrate.db.subscription", "create"),
    "enable": ("snapmigrate.db.subscription", "advance_and_enable"),
    "drop_subscription": ("snapmigrate.db.subscription", "drop"),
}


def die(*_: Any, **__: Any) -> None:
    os._exit(9)


def arm(point: str, clients: Any) -> Any:
    """Hook the point; the ``on_event`` callback for step events."""
    import importlib

    kind, _, name = point.partition(":")
    if kind == "after" and name in FUNCTIONS:
        module_name, attr = FUNCTIONS[name]
        module = importlib.import_module(module_name)
        original = getattr(module, attr)

        def then_die(*args: Any, **kwargs: Any) -> Any:
            original(*args, **kwargs)
            die()

        setattr(module, attr, then_die)
    elif kind == "after":
        clients.session.events.register(f"after-call.rds.{name}", die)

    def on_event(event: str, step: str) -> None:
        if f"{event.removeprefix('step-')}:{step}" == point:
            die()

    return on_event


def main(argv: list[str]) -> None:
    from snapmigrate.cutover import Cutover, CutoverOptions
    from snapmigrate.migrate import read_plan
    from snapmigrate.migrate.context import RunSettings
    from snapmigrate.migrate.runner import Runner
    from snapmigrate.workflow.journal import Journal
    from snapmigrate_lab import Lab

    lab_dir, state_dir, what, subject, point, *dns = argv
    lab = Lab(lab_dir)
    clients = lab.clients()
    on_event = arm(point, clients)
    cmap = str(lab.connect_map_path)
    if what == "migrate":
        with open(subject, encoding="utf-8") as f:
            plan = read_plan(json.load(f))
        settings = RunSettings(connect=True, connect_map=cmap, first_delay_s=0.1, max_delay_s=0.5)
        Runner(clients, Journal(state_dir), settings=settings, on_event=on_event).start(plan)
    else:
        options = CutoverOptions(mode="dns", zone_id=dns[0], record_name=dns[1])
        Cutover(clients, Journal(state_dir), connect_map=cmap, on_event=on_event).run(
            subject, options
        )
    sys.exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])

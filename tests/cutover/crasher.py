"""Run a cutover and kill the process (``os._exit``, no cleanup) at a given point.

``python -m tests.cutover.crasher LAB_DIR STATE_DIR RUN_ID MODE POINT [ZONE RECORD]``
POINT is ``started:<phase>``, ``finished:<phase>`` or ``mid-swap`` (right after
the first swap API call answered).
"""

from __future__ import annotations

import os
import sys
from typing import Any


def main(argv: list[str]) -> None:
    from snapmigrate.cutover import Cutover, CutoverOptions
    from snapmigrate.workflow.journal import Journal
    from snapmigrate_lab import Lab

    lab_dir, state_dir, run_id, mode, point, *dns = argv
    lab = Lab(lab_dir)
    clients = lab.clients()

    def die(*_: Any, **__: Any) -> None:
        os._exit(9)

    if point == "mid-swap":
        event = (
            "after-call.rds.ModifyDBCluster"
            if mode == "rename"
            else "after-call.route53.ChangeResourceRecordSets"
        )
        clients.session.events.register(event, die)

    def on_event(kind: str, name: str) -> None:
        if f"{kind.removeprefix('step-')}:{name}" == point:
            die()

    options = (
        CutoverOptions(mode=mode, zone_id=dns[0], record_name=dns[1])
        if dns
        else CutoverOptions(mode=mode)
    )
    Cutover(
        clients, Journal(state_dir), connect_map=str(lab.connect_map_path), on_event=on_event
    ).run(run_id, options)
    sys.exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])

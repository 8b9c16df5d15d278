"""The lab's background process: moto's app inside the lab's middleware,
served on 127.0.0.1, until ``/snapmigrate-lab/shutdown`` or SIGTERM.

Started by :meth:`snapmigrate_lab.Lab.up` (``python -m snapmigrate_lab.daemon``);
it writes ``lab.json`` once it answers and stops its servers on the way out.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any


def _watch(root: Path, pid: int | None, stopping: threading.Event, every: float = 1.0) -> None:
    """Stop the lab when it can no longer be used -- its directory is gone or
    names another daemon -- or when process ``pid`` (a test session) is gone."""
    from snapmigrate_lab import state as labstate
    from snapmigrate_lab.runtime import alive

    log = logging.getLogger(__name__)
    while not stopping.wait(every):
        if pid is not None and not alive(pid):
            log.info("process %s is gone: stopping", pid)
            stopping.set()
        st = labstate.read(root)
        if st is None or st.pid != os.getpid():
            log.info("%s no longer holds this lab: stopping", root)
            stopping.set()


def serve(
    root: Path,
    *,
    port: int = 0,
    knobs: dict[str, Any] | None = None,
    watch_pid: int | None = None,
    postgres: str = "fallback",
) -> None:
    """Run the lab in ``root`` until asked to stop (or until ``watch_pid`` exits); ``postgres``
    is the policy for majors the lab cannot run (see :mod:`snapmigrate_lab.majors`)."""
    from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    from snapmigrate_lab import runtime
    from snapmigrate_lab.glue import LabApp
    from snapmigrate_lab.majors import Builds
    from snapmigrate_lab.pgrun import install_dir
    from snapmigrate_lab.realism import Knobs
    from snapmigrate_lab.state import REGION
    from snapmigrate_lab.tls import self_signed

    tls = self_signed(root / "tls")
    home = runtime.make_lab_home(root)
    install_dir(home)  # staged (under root) before the first cluster, and kept while this lab lives
    app = LabApp(
        DomainDispatcherApplication(create_backend_app),
        root,
        knobs=Knobs.from_dict(knobs or {}),
        tls=tls,
        home=home,
        builds=Builds(postgres, home),
    )
    # moto loads a backend on its first call (~0.6 s): pay it before saying we are up.
    app.inner.rds(REGION).describe_db_clusters()
    app.inner.client("route53", REGION).list_hosted_zones()
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)
    app.port = server.server_port
    app.started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")

    def stop(signum: int, frame: Any) -> None:
        app.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    thread = threading.Thread(target=server.serve_forever, name="lab-http", daemon=True)
    thread.start()
    app.publish()
    threading.Thread(
        target=_watch, args=(root, watch_pid, app.stopping), name="lab-watch", daemon=True
    ).start()
    logging.getLogger(__name__).info("lab up on %s in %s", app.port, root)
    app.stopping.wait()
    server.shutdown()
    app.shutdown()
    if not root.exists():  # removed under us: its data must not outlive it
        runtime.remove_lab_home(root)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m snapmigrate_lab.daemon")
    parser.add_argument("--dir", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--knobs", default="{}", help="initial realism knobs as JSON")
    parser.add_argument(
        "--watch-pid", type=int, help="stop when this process exits (test sessions)"
    )
    parser.add_argument(
        "--postgres",
        choices=("fallback", "strict"),
        default="fallback",
        help="when a cluster's PostgreSQL major cannot be had: run 18 and say so, or refuse",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("botocore").setLevel(logging.WARNING)
    serve(
        Path(args.dir).resolve(),
        port=args.port,
        knobs=json.loads(args.knobs),
        watch_pid=args.watch_pid,
        postgres=args.postgres,
    )


if __name__ == "__main__":
    main()

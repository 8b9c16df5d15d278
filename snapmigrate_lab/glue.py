"""The WSGI middleware around moto's server app: the lab's single entrance.

It sees every request, draws the realism faults, lets the RDS glue keep the
data plane in step, rewrites answers as AWS gives them, keeps the lab
directory's files current, and serves the small control API under
``/snapmigrate-lab/`` (knobs, fail rules, notes, reset, shutdown).
moto itself is used unmodified.
"""

from __future__ import annotations

import io
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from snapmigrate import connectmap
from snapmigrate.errors import SnapmigrateError
from snapmigrate_lab import labfiles
from snapmigrate_lab import state as labstate
from snapmigrate_lab.dataplane import DataPlane
from snapmigrate_lab.inner import InnerClients
from snapmigrate_lab.majors import Builds
from snapmigrate_lab.names import DnsNames
from snapmigrate_lab.rds import RdsGlue
from snapmigrate_lab.realism import FailRule, Knobs, Realism
from snapmigrate_lab.tls import TlsFiles
from snapmigrate_lab.tlsproxy import ProxyHub, server_context
from snapmigrate_lab.topology import Topology
from snapmigrate_lab.wire import Response, encode_params, error_response, identify, throttle_code

log = logging.getLogger(__name__)

CONTROL = "/snapmigrate-lab/"
READ_ONLY_PREFIXES = ("Describe", "List", "Get")


def _json(status: int, data: Any) -> Response:
    body = json.dumps(data, indent=2, default=str).encode()
    return Response(
        status, (("Content-Type", "application/json"), ("Content-Length", str(len(body)))), body
    )


class LabApp:
    """moto's app with the lab around it."""

    def __init__(
        self,
        moto_app: Callable[..., Iterable[bytes]],
        root: Path,
        *,
        knobs: Knobs | None = None,
        tls: TlsFiles | None = None,
        names: DnsNames | None = None,
        clock: Callable[[], float] = time.monotonic,
        home: Path | None = None,
        builds: Builds | None = None,
    ) -> None:
        self.moto = moto_app
        self.root = root
        self.base_knobs = knobs or Knobs()
        self.realism = Realism(self.base_knobs, clock)
        self.proxies = ProxyHub(server_context(tls.cert, tls.key) if tls else None)
        self.lock = threading.RLock()  # one lock for calls and the data plane's background work
        self.plane = DataPlane(home or root / "data", self.proxies, builds=builds, lock=self.lock)
        self.plane.on_change = self.publish
        self.plane.archives.start()
        self.topology = Topology()
        self.names = names or DnsNames()
        self.inner = InnerClients(moto_app)
        self.rds = RdsGlue(
            self.inner, self.plane, self.topology, self.realism, self.names, republish=self.publish
        )
        self.regions: set[str] = {labstate.REGION}
        self.stopping = threading.Event()
        self.port = 0
        self.started = ""
        self.notes: dict[str, Any] = {}

    # -- WSGI ---------------------------------------------------------------

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        try:
            response = self.handle(environ)
        except SnapmigrateError as e:
            response = _json(400, {"error": str(e)})
        except Exception as e:  # an answer, never a dropped connection: botocore retries a 500
            log.exception("the lab failed on %s", environ.get("PATH_INFO"))
            response = _json(500, {"error": f"the snapmigrate lab failed: {type(e).__name__}: {e}"})
        start_response(response.status_line(), list(response.headers))
        return [response.body]

    def handle(self, environ: dict[str, Any]) -> Response:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        path = environ.get("PATH_INFO", "/")
        if path.startswith(CONTROL):
            return self.control(
                environ.get("REQUEST_METHOD", "GET"), path[len(CONTROL) :].strip("/"), body
            )
        call = identify(environ, body)
        if call is None:
            with self.lock:
                response = self.forward(environ, body)
                if path.startswith("/moto-api/reset"):
                    self.after_reset()
            return response
        self.regions.add(call.region)
        fault = self.realism.fault(call.action, after=False, throttle_code=throttle_code(call))
        if fault is not None:
            log.info("injected %s on %s", fault.code, call.action)
            return error_response(call, fault.code, fault.message, fault.status)
        with self.lock:
            if call.service == "rds":
                response, changed = self.rds.handle(
                    call, lambda params: self.forward(environ, body, params)
                )
                if changed or not (call.action or "").startswith(READ_ONLY_PREFIXES):
                    self.publish()
            else:
                response = self.forward(environ, body)
                if call.service == "route53" and not (call.action or "").startswith(
                    READ_ONLY_PREFIXES
                ):
                    self.publish()
        # Only a call that did its work can lose its answer.
        lost = (
            self.realism.fault(call.action, after=True, throttle_code=throttle_code(call))
            if response.status < 400
            else None
        )
        if lost is not None:
            log.info("lost the answer of %s (%s)", call.action, lost.code)
            return error_response(call, lost.code, lost.message, lost.status or 500)
        return response

    def forward(
        self, environ: dict[str, Any], body: bytes, params: dict[str, str] | None = None
    ) -> Response:
        """Let moto answer (with rewritten form parameters when given)."""
        if params is not None:
            body = encode_params(params)
        env = dict(environ)
        env["wsgi.input"] = io.BytesIO(body)
        env["CONTENT_LENGTH"] = str(len(body))
        captured: dict[str, Any] = {}

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            captured["status"], captured["headers"] = status, headers
            return lambda _: None

        chunks = self.moto(env, start_response)
        try:
            data = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()
        status = int(str(captured.get("status", "500")).split(" ", 1)[0])
        return Response(status, tuple(captured.get("headers", [])), data)

    # -- the lab directory ----------------------------------------------------

    def publish(self) -> None:
        """Bring the data plane, connect map, pgpass and lab.json in line with moto."""
        with self.lock:
            self.rds.reconcile(self.regions)
            routes, logins = labfiles.endpoints(self.rds, self.regions)
            labfiles.record_names(self.inner.client("route53", labstate.REGION), routes, logins)
            server_routes = labfiles.server_routes(self.plane, routes)
            connectmap.write(self.root / labstate.CONNECT_MAP, routes, server_routes)
            labstate.write_pgpass(self.root / labstate.PGPASS, logins)
            labstate.write(self.root, self.state())

    def state(self, status: str = "running") -> labstate.LabState:
        return labstate.LabState(
            dir=str(self.root),
            pid=os.getpid(),
            port=self.port,
            started=self.started,
            status=status,
            servers=labfiles.servers(self.plane),
            snapshots=labfiles.snapshots(self.plane),
            notes={**self.notes, "postgres": labfiles.postgres_notes(self.plane)},
            readers=labfiles.readers(self.plane),
        )

    def after_reset(self) -> None:
        """moto forgot everything: so do the data plane, the topology and the transitions."""
        with self.lock:
            self.plane.reset()
            self.topology.clear()
            self.realism.clear()
            self.rds.history.clear()
            self.notes.pop("seed", None)
            self.publish()

    def shutdown(self) -> None:
        with self.lock:
            self.plane.stop_all()
            self.proxies.stop()
            if self.root.is_dir():
                labstate.write(self.root, self.state(status="stopped"))

    # -- control API ------------------------------------------------------------

    def control(self, method: str, route: str, body: bytes) -> Response:
        try:
            data = json.loads(body) if body.strip() else {}
        except ValueError:
            return _json(400, {"error": "the body must be JSON"})
        if route == "health":
            return _json(200, {"ok": True, "pid": os.getpid()})
        if route == "state":
            return _json(200, self.state().to_dict())
        if route == "knobs":
            if method == "POST":
                if data.pop("reset", False):
                    self.realism.set(self.base_knobs)
                if data:
                    self.realism.set(Knobs.from_dict(data, base=self.realism.knobs))
            return _json(200, self.realism.knobs.to_dict())
        if route == "fail" and method == "POST":
            try:
                rule = FailRule(**data)
            except TypeError as e:
                return _json(400, {"error": f"bad fail rule: {e}"})
            self.realism.add_rule(rule)
            return _json(200, self.realism.knobs.to_dict())
        if route == "notes" and method == "POST":
            with self.lock:
                self.notes.update(data)
                labstate.write(self.root, self.state())
            return _json(200, self.notes)
        if route == "reset" and method == "POST":
            with self.lock:
                self.inner.reset_moto()
                self.after_reset()
            return _json(200, {"reset": True})
        if route == "shutdown" and method == "POST":
            self.stopping.set()
            return _json(200, {"stopping": True})
        return _json(404, {"error": f"no such lab route: {method} {CONTROL}{route}"})

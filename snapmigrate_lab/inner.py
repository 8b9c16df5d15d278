"""boto3 clients that talk to the wrapped moto app in-process.

The glue reads and repairs moto's state through moto's own public API, not its
internals: a botocore ``before-send`` handler hands each request to the moto
WSGI app directly (no socket, no knobs, no rewriting) and returns its answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

WsgiApp = Callable[..., Any]


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Any:
        yield self._data


class InnerClients:
    """Clients per (service, region) bound to ``app``."""

    def __init__(self, app: WsgiApp) -> None:
        import boto3
        from werkzeug.test import Client

        self._http = Client(app)
        self._session = boto3.Session(
            aws_access_key_id="lab", aws_secret_access_key="lab", region_name="us-east-1"
        )
        self._clients: dict[tuple[str, str], Any] = {}

    def _send(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse, HTTPHeaders

        url = urlsplit(request.url)
        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        sent = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        answer = self._http.open(
            path=url.path or "/",
            query_string=url.query,
            method=request.method,
            headers=sent,
            data=body or b"",
        )
        headers = HTTPHeaders()
        for name, value in answer.headers.items():
            headers[name] = value
        return AWSResponse(request.url, answer.status_code, headers, _Body(answer.get_data()))

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            from botocore.config import Config

            client = self._session.client(
                service,  # type: ignore[call-overload]
                region_name=region,
                endpoint_url="http://lab.internal",
                config=Config(retries={"mode": "standard", "max_attempts": 1}),
            )
            client.meta.events.register("before-send", self._send)
            self._clients[key] = client
        return self._clients[key]

    def reset_moto(self) -> None:
        """moto's own reset: every backend forgets its state."""
        self._http.post("/moto-api/reset")

    def rds(self, region: str) -> Any:
        return self.client("rds", region)

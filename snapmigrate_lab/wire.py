"""AWS on the wire, as the lab's middleware sees it: which call a request is,
and how AWS itself shapes an error for each protocol.

botocore's service models are the ground truth (protocol, XML namespace, the
HTTP status of each modelled error), so errors the lab makes are parsed and
classified by botocore exactly like AWS's own.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

_CREDENTIAL = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/]+)/([^/]+)/aws4_request")

#: The code AWS itself uses when it throttles each protocol's services
#: (RDS, Route 53, STS answer ``Throttling``; JSON services ``ThrottlingException``).
THROTTLE_CODE = {"query": "Throttling", "rest-xml": "Throttling", "json": "ThrottlingException"}
SERVER_ERRORS = {"InternalFailure": 500, "InternalError": 500, "ServiceUnavailable": 503}


class Refused(Exception):
    """The lab answers this call with an AWS error instead of passing it to moto."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Response:
    """A complete HTTP answer."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def with_body(self, body: bytes) -> Response:
        headers = tuple((k, v) for k, v in self.headers if k.lower() != "content-length")
        return Response(self.status, (*headers, ("Content-Length", str(len(body)))), body)

    def status_line(self) -> str:
        from http import HTTPStatus

        try:
            return f"{self.status} {HTTPStatus(self.status).phrase}"
        except ValueError:
            return f"{self.status} Unknown"


#: Lets moto answer (with rewritten form parameters when given).
Forward = Callable[[dict[str, str] | None], "Response"]


@dataclass(frozen=True)
class AwsCall:
    """One AWS API request: service (signing name), region, operation and, for
    the query protocol, its form parameters."""

    service: str
    region: str
    action: str | None
    protocol: str | None
    params: dict[str, str] = field(default_factory=dict)

    def param(self, name: str) -> str | None:
        return self.params.get(name)

    def flag(self, name: str) -> bool | None:
        value = self.params.get(name)
        return None if value is None else value.lower() == "true"

    def items(self, prefix: str) -> list[str]:
        """A query-protocol list (``Prefix.member.N`` / ``Prefix.N``) in order."""
        found = []
        for key, value in self.params.items():
            rest = key[len(prefix) + 1 :] if key.startswith(prefix + ".") else None
            if rest is None:
                continue
            index = rest.rsplit(".", 1)[-1]
            if index.isdigit() and rest.count(".") <= 1:
                found.append((int(index), value))
        return [v for _, v in sorted(found)]


@functools.lru_cache(maxsize=16)
def service_model(service: str) -> Any:
    """botocore's model of ``service`` (signing name), or None if botocore has none."""
    import botocore.exceptions
    import botocore.session

    try:
        return botocore.session.get_session().get_service_model(service)
    except botocore.exceptions.UnknownServiceError:
        return None


@functools.lru_cache(maxsize=16)
def _rest_routes(service: str) -> tuple[tuple[str, re.Pattern[str], str], ...]:
    model = service_model(service)
    if model is None:
        return ()
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri = http.get("requestUri", "/").split("?", 1)[0]
        pattern = re.escape(uri.rstrip("/"))
        pattern = re.sub(r"\\\{[^}]+\\\+\\\}", ".+", pattern)
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
        routes.append((http.get("method", "POST"), re.compile(pattern + "/?"), name))
    # literal-heavy routes first, so /hostedzone/{Id}/rrset wins over /hostedzone/{Id}
    routes.sort(key=lambda r: -len(r[1].pattern))
    return tuple(routes)


def identify(environ: dict[str, Any], body: bytes) -> AwsCall | None:
    """The AWS call a WSGI request makes, or None if it is not a signed AWS request."""
    found = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    if not found:
        return None
    region, service = found.groups()
    model = service_model(service)
    protocol = model.protocol if model is not None else None
    target = environ.get("HTTP_X_AMZ_TARGET")
    params: dict[str, str] = {}
    action: str | None = None
    if target:
        action = target.rsplit(".", 1)[-1]
    elif protocol in ("query", "ec2") or b"Action=" in body[:2048]:
        params = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        if environ.get("QUERY_STRING"):
            params = {**dict(parse_qsl(environ["QUERY_STRING"])), **params}
        action = params.get("Action")
    else:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/")
        action = next(
            (
                name
                for m, pattern, name in _rest_routes(service)
                if m == method and pattern.fullmatch(path)
            ),
            None,
        )
    return AwsCall(service=service, region=region, action=action, protocol=protocol, params=params)


def encode_params(params: dict[str, str]) -> bytes:
    return urlencode(params).encode("utf-8")


def error_status(service: str, code: str) -> int:
    """The HTTP status AWS answers ``code`` with (from the model, else 400/5xx)."""
    if code in SERVER_ERRORS:
        return SERVER_ERRORS[code]
    model = service_model(service)
    if model is not None:
        try:
            shape = model.shape_for(code)
        except Exception:
            shape = None
        if shape is not None:
            return int(shape.metadata.get("error", {}).get("httpStatusCode", 400))
    return 400


def xml_namespace(model: Any) -> str:
    ns = model.metadata.get("xmlNamespace")
    if isinstance(ns, dict):
        ns = ns.get("uri")
    if ns:
        return str(ns)
    prefix = model.metadata.get("endpointPrefix", model.service_name)
    return f"http://{prefix}.amazonaws.com/doc/{model.api_version}/"


def _escape(text: str) -> str:
    from xml.sax.saxutils import escape

    return escape(text)


def error_response(call: AwsCall, code: str, message: str, status: int | None = None) -> Response:
    """An error exactly as AWS shapes it for the call's protocol."""
    status = status or error_status(call.service, code)
    request_id = str(uuid.uuid4())
    model = service_model(call.service)
    if call.protocol == "json" or (model is None and call.protocol is None):
        body = json.dumps({"__type": code, "message": message}).encode()
        headers: tuple[tuple[str, str], ...] = (
            ("Content-Type", "application/x-amz-json-1.1"),
            ("x-amzn-RequestId", request_id),
            ("x-amzn-ErrorType", code),
        )
    else:
        ns = xml_namespace(model) if model is not None else "http://amazonaws.com/doc/"
        kind = "Receiver" if status >= 500 else "Sender"
        body = (
            f'<ErrorResponse xmlns="{ns}"><Error><Type>{kind}</Type><Code>{_escape(code)}</Code>'
            f"<Message>{_escape(message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers = (("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id))
    return Response(status, (*headers, ("Content-Length", str(len(body)))), body)


def throttle_code(call: AwsCall) -> str:
    return THROTTLE_CODE.get(call.protocol or "json", "ThrottlingException")

"""The one way snapmigrate calls AWS: :meth:`Aws.call`.

botocore already retries each request (standard mode); what survives it --
an exhausted retry quota under heavy throttling, a bad minute of 5xx -- is
retried here with capped, jittered backoff on an injected sleep, so one bad
minute does not fail an hours-long run. Every other error is translated at
once into :mod:`snapmigrate.errors`. Paginated reads retry page by page.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from snapmigrate.aws.errors import AWS_ERRORS, is_transient, translate

if TYPE_CHECKING:
    from snapmigrate.aws.clients import Clients

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often to try a call again, and how long to wait in between."""

    attempts: int = 8
    base_s: float = 1.0
    cap_s: float = 30.0

    def retries(self, exc: BaseException, attempt: int) -> bool:
        """Whether the ``attempt``-th failure (from 0) of a call is worth another try."""
        return attempt + 1 < self.attempts and is_transient(exc)

    def delay(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.cap_s, self.base_s * 2**attempt))


class ApiCallCounter:
    """Counts API calls made by boto3 clients (botocore's ``before-call`` event),
    and the transient errors the retry layer rode out (``transient``)."""

    def __init__(self) -> None:
        self.count = 0
        self.transient = 0
        self._attached: set[int] = set()

    def __call__(self, **_: Any) -> None:
        self.count += 1

    def attach(self, client: Any) -> Any:
        if id(client) not in self._attached:
            client.meta.events.register("before-call", self)
            self._attached.add(id(client))
        return client


class Aws:
    """The AWS clients of a command, with the one call path: translation and retries."""

    def __init__(
        self,
        clients: Clients,
        *,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        counter: ApiCallCounter | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.clients = clients
        self.policy = policy or RetryPolicy()
        self.sleep = sleep
        self.counter = counter or ApiCallCounter()
        self.rng = rng or random.Random()

    @classmethod
    def of(cls, source: Aws | Clients) -> Aws:
        """``source`` itself, or the call path of a :class:`Clients` (default policy)."""
        return source if isinstance(source, Aws) else source.aws()

    @property
    def region(self) -> str:
        return self.clients.region

    def client(self, service: str) -> Any:
        """A boto3 client whose calls are counted."""
        return self.counter.attach(self.clients.client(service))

    def rds(self) -> Any:
        return self.client("rds")

    def route53(self) -> Any:
        return self.client("route53")

    def secretsmanager(self) -> Any:
        return self.client("secretsmanager")

    def call(self, action: str, fn: Callable[..., T], /, *, retry: bool = True, **params: Any) -> T:
        """``fn(**params)``: transient errors retried (and counted), every error translated.

        ``action`` says what we tried, for the message. ``retry=False`` is for a
        probe whose failure has an answer of its own (an API that may not exist).
        """
        attempt = 0
        while True:
            try:
                return fn(**params)
            except AWS_ERRORS as e:
                if is_transient(e):
                    self.counter.transient += 1
                if not (retry and self.policy.retries(e, attempt)):
                    raise translate(e, action) from e
                self.sleep(self.policy.delay(attempt, self.rng))
                attempt += 1

    def each(self, action: str, fn: Callable[..., Any], key: str, **params: Any) -> Iterator[Any]:
        """Every item under ``key`` of every page of an RDS ``Describe*`` call
        (``Marker`` pagination), each page through :meth:`call`."""
        marker: str | None = None
        while True:
            more: dict[str, Any] = {"Marker": marker} if marker else {}
            page = self.call(action, fn, **params, **more)
            yield from page.get(key) or []
            marker = page.get("Marker")
            if not marker:
                return

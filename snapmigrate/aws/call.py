"""The one way snapmigrate calls AWS: :meth:`Aws.call`.

botocore already retries each request (standard mode); what survives it --
an exhausted retry quota under heavy throttling, a bad minute of 5xx -- is
retried here with capped, jittered backoff on an injected sleep, so one bad
minute does not fail an hours-long run. A change refused because its resource
is busy with another one (``InvalidDBClusterStateFault`` while the cluster is
``modifying``, ``InvalidResourceStateFault`` from ``EnableHttpEndpoint``) waits
until the resource is at rest, then is tried again -- bounded by
:class:`StateWait`; refused on a resource at rest or failed, it is an error at
once. Every other error is translated at once into :mod:`snapmigrate.errors`.
Paginated reads retry page by page.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from snapmigrate.aws import states
from snapmigrate.aws.errors import AWS_ERRORS, error_code, is_transient, translate
from snapmigrate.errors import OperationFailed

if TYPE_CHECKING:
    from snapmigrate.aws.clients import Clients

log = logging.getLogger(__name__)

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


@dataclass(frozen=True)
class StateWait:
    """How long a change refused while its resource is busy waits for it, and how
    often it looks: a bounded wait, then the refusal stands."""

    max_wait_s: float = 1800.0
    first_delay_s: float = 5.0
    max_delay_s: float = 30.0


#: Reads a resource's status: ``(kind, identifier) -> status`` (None when it is gone).
StatusReader = Callable[[str, str], str | None]


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
        state_wait: StateWait | None = None,
        read_status: StatusReader | None = None,
    ) -> None:
        self.clients = clients
        self.policy = policy or RetryPolicy()
        self.sleep = sleep
        self.counter = counter or ApiCallCounter()
        self.rng = rng or random.Random()
        self.state_wait = state_wait or StateWait()
        self.read_status = read_status or self._describe_status

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

    def ram(self) -> Any:
        return self.client("ram")

    def call(self, action: str, fn: Callable[..., T], /, *, retry: bool = True, **params: Any) -> T:
        """``fn(**params)``: transient errors retried (and counted), every error translated.

        ``action`` says what we tried, for the message. ``retry=False`` is for a
        probe whose failure has an answer of its own (an API that may not exist).
        """
        attempt = 0
        busy_s = 0.0
        while True:
            try:
                return fn(**params)
            except AWS_ERRORS as e:
                if retry and error_code(e) in states.STATE_FAULTS:
                    busy_s = self._wait_while_busy(e, action, params, busy_s)
                    continue
                if is_transient(e):
                    self.counter.transient += 1
                if not (retry and self.policy.retries(e, attempt)):
                    raise translate(e, action) from e
                self.sleep(self.policy.delay(attempt, self.rng))
                attempt += 1

    def _wait_while_busy(
        self, exc: BaseException, action: str, params: dict[str, Any], waited: float
    ) -> float:
        """A state fault: wait while the resource it is about is busy with another
        change (bounded), then let the call be tried again; the seconds waited so far.
        Raises the translated fault when the resource is at rest, failed or gone."""
        named = states.named_resource(error_code(exc), params)
        status = self.read_status(*named) if named is not None else None
        if named is None or not states.transitional(named[0], status):
            raise translate(exc, action) from exc
        kind, identifier = named
        limit = self.state_wait
        delay = limit.first_delay_s
        log.info("%s: %s %s is %s; waiting for it to finish", action, kind, identifier, status)
        while states.transitional(kind, status):
            if waited >= limit.max_wait_s:
                raise OperationFailed(
                    f"{action}: {kind} {identifier} stayed {status} for {waited:.0f} s "
                    "(another change is in progress); try again once it is available"
                ) from exc
            pause = min(delay, limit.max_wait_s - waited)
            self.sleep(pause)
            waited += pause
            delay = min(delay * 2, limit.max_delay_s)
            status = self.read_status(kind, identifier)
        return waited

    def _describe_status(self, kind: str, identifier: str) -> str | None:
        """What DescribeDB* says of the resource's status (None: gone or unreadable)."""
        rds = self.rds()
        reads = {
            "cluster": (rds.describe_db_clusters, "DBClusterIdentifier", "DBClusters", "Status"),
            "instance": (
                rds.describe_db_instances,
                "DBInstanceIdentifier",
                "DBInstances",
                "DBInstanceStatus",
            ),
            "snapshot": (
                rds.describe_db_cluster_snapshots,
                "DBClusterSnapshotIdentifier",
                "DBClusterSnapshots",
                "Status",
            ),
        }
        fn, key, items, field = reads[kind]
        try:
            found = fn(**{key: identifier}).get(items) or []
        except AWS_ERRORS:
            return None
        return str(found[0].get(field)) if found else None

    def each(
        self, action: str, fn: Callable[..., Any], key: str, *, retry: bool = True, **params: Any
    ) -> Iterator[Any]:
        """Every item under ``key`` of every page of an RDS ``Describe*`` call
        (``Marker`` pagination), each page through :meth:`call`."""
        marker: str | None = None
        while True:
            more: dict[str, Any] = {"Marker": marker} if marker else {}
            page = self.call(action, fn, retry=retry, **params, **more)
            yield from page.get(key) or []
            marker = page.get("Marker")
            if not marker:
                return

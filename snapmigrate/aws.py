"""The one place that builds boto3 clients and turns AWS errors into ours.

Every client comes from :class:`Clients`: one boto3 session (profile, region),
one endpoint URL (``--endpoint-url`` or ``AWS_ENDPOINT_URL``, which is how the
lab and moto are reached), botocore's *standard* retry mode. Errors that
survive botocore's retries are translated by :func:`aws_errors` into
:mod:`snapmigrate.errors` with a one-line message that says what to do.
"""

from __future__ import annotations

import contextlib
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from snapmigrate.errors import (
    BadInput,
    CredentialsMissing,
    NotFound,
    OperationFailed,
    SnapmigrateError,
)

if TYPE_CHECKING:
    import boto3

T = TypeVar("T")

#: botocore's standard mode retries throttling, 5xx and connection errors with
#: jittered exponential backoff; ten attempts ride out a bad minute.
MAX_ATTEMPTS = 10

CREDENTIALS_HELP = (
    "no AWS credentials found: use --profile NAME (or AWS_PROFILE), "
    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, 'aws sso login', or an instance role; "
    "for the local lab run: eval \"$(snapmigrate lab env)\""
)

NOT_FOUND_CODES = frozenset(
    {
        "DBClusterNotFoundFault",
        "DBClusterSnapshotNotFoundFault",
        "DBInstanceNotFound",
        "DBInstanceNotFoundFault",
        "DBClusterParameterGroupNotFound",
        "DBParameterGroupNotFound",
        "DBClusterParameterGroupNotFoundFault",
        "DBSubnetGroupNotFoundFault",
        "NoSuchHostedZone",
        "ResourceNotFoundException",
        "KMSKeyNotAccessibleFault",
    }
)
BAD_CREDENTIAL_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "AuthFailure",
    }
)
DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})
THROTTLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "PriorRequestNotComplete",
        "SlowDown",
    }
)


@dataclass(frozen=True)
class AwsSettings:
    """Where to reach AWS: the global ``--profile/--region/--endpoint-url`` options."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    max_attempts: int = MAX_ATTEMPTS

    def resolved_endpoint(self) -> str | None:
        return self.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None


class Clients:
    """Builds (and caches) every boto3 client snapmigrate uses, from one session."""

    def __init__(self, settings: AwsSettings | None = None) -> None:
        self.settings = settings or AwsSettings()
        self._session: boto3.Session | None = None
        self._clients: dict[str, Any] = {}

    @property
    def session(self) -> boto3.Session:
        if self._session is None:
            import boto3
            import botocore.exceptions

            try:
                self._session = boto3.Session(
                    profile_name=self.settings.profile, region_name=self.settings.region
                )
            except botocore.exceptions.ProfileNotFound as e:
                raise BadInput(
                    f"AWS profile {self.settings.profile!r} not found: check ~/.aws/config or drop --profile"
                ) from e
        return self._session

    @property
    def region(self) -> str:
        region = self.session.region_name
        if not region:
            raise BadInput(
                "no AWS region: pass --region, set AWS_REGION, or give the profile a region"
            )
        return region

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` (cached), with standard retries."""
        if service not in self._clients:
            from botocore.config import Config

            if self.session.get_credentials() is None:
                raise CredentialsMissing(CREDENTIALS_HELP)
            config = Config(
                retries={"mode": "standard", "total_max_attempts": self.settings.max_attempts},
                connect_timeout=10,
                read_timeout=60,
                user_agent_extra="snapmigrate",
            )
            self._clients[service] = self.session.client(
                service,  # type: ignore[call-overload]
                region_name=self.region,
                endpoint_url=self.settings.resolved_endpoint(),
                config=config,
            )
        return self._clients[service]

    def rds(self) -> Any:
        return self.client("rds")

    def route53(self) -> Any:
        return self.client("route53")

    def secretsmanager(self) -> Any:
        return self.client("secretsmanager")


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ``ClientError``, else None."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code")
    return None


def is_not_found(exc: BaseException) -> bool:
    return error_code(exc) in NOT_FOUND_CODES


def is_transient(exc: BaseException) -> bool:
    """Throttling, a 5xx, a dropped connection or an unparseable reply (moto's 500)."""
    import botocore.exceptions as bex
    from botocore.parsers import ResponseParserError

    if isinstance(exc, bex.ConnectionError | bex.HTTPClientError | ResponseParserError | bex.ReadTimeoutError):
        return True
    code = error_code(exc)
    if code is None:
        return False
    if code in THROTTLE_CODES:
        return True
    status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return status >= 500 or code in {"InternalFailure", "ServiceUnavailable", "InternalError"}


def translate(exc: BaseException, action: str) -> SnapmigrateError:
    """Our error for an exception raised by boto3 while doing ``action``."""
    import botocore.exceptions as bex

    if isinstance(exc, SnapmigrateError):
        return exc
    if isinstance(exc, bex.NoCredentialsError | bex.PartialCredentialsError):
        return CredentialsMissing(CREDENTIALS_HELP)
    if isinstance(exc, bex.NoRegionError):
        return BadInput("no AWS region: pass --region, set AWS_REGION, or give the profile a region")
    if isinstance(exc, bex.EndpointConnectionError | bex.ConnectTimeoutError):
        return OperationFailed(
            f"cannot reach AWS to {action}: {exc}; check the network, --region and --endpoint-url"
        )
    code = error_code(exc)
    if code is None:
        return OperationFailed(f"{action} failed: {exc}")
    message = getattr(exc, "response", {}).get("Error", {}).get("Message") or str(exc)
    message = " ".join(str(message).split())
    if code in NOT_FOUND_CODES:
        return NotFound(f"{action}: {message}")
    if code in BAD_CREDENTIAL_CODES:
        return CredentialsMissing(
            f"AWS rejected the credentials ({code}) while trying to {action}: refresh them "
            "(aws sso login, new keys) or pick another --profile"
        )
    if code in DENIED_CODES:
        return OperationFailed(
            f"AWS denied {action} ({code}): {message}; run 'snapmigrate permissions' for the IAM "
            "actions each command needs"
        )
    if code in THROTTLE_CODES:
        return OperationFailed(f"AWS kept throttling {action} after retries ({code}); try again later")
    return OperationFailed(f"{action} failed ({code}): {message}")


@contextlib.contextmanager
def aws_errors(action: str) -> Iterator[None]:
    """Translate any boto3 error raised inside the block (``action`` says what we tried)."""
    import botocore.exceptions as bex

    try:
        yield
    except (bex.BotoCoreError, bex.ClientError) as e:
        raise translate(e, action) from e


def retrying(
    fn: Callable[[], T],
    *,
    action: str,
    attempts: int = 6,
    base: float = 1.0,
    cap: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``fn``, retrying transient AWS errors with capped, jittered backoff.

    botocore already retries each call; this outer loop covers what survives it
    (an exhausted retry quota under heavy throttling) so that one bad minute
    does not fail an hours-long run. Other errors are translated at once.
    """
    import botocore.exceptions as bex

    for attempt in range(attempts):
        try:
            return fn()
        except (bex.BotoCoreError, bex.ClientError) as e:
            if attempt + 1 < attempts and is_transient(e):
                sleep(random.uniform(0, min(cap, base * 2**attempt)))
                continue
            raise translate(e, action) from e
    raise AssertionError("unreachable")


def paginate(client: Any, operation: str, key: str, **params: Any) -> Iterator[dict[str, Any]]:
    """Every item under ``key`` of every page of ``operation``."""
    with aws_errors(operation.replace("_", " ")):
        for page in client.get_paginator(operation).paginate(**params):
            yield from page.get(key, [])


def tags_of(resource: dict[str, Any]) -> dict[str, str]:
    """An RDS resource's ``TagList`` as a dict."""
    return {t["Key"]: t.get("Value", "") for t in resource.get("TagList") or []}

"""AWS errors as ours: one translation from botocore's exceptions to
:mod:`snapmigrate.errors`, with a one-line message that says what to do, and
the one decision of which errors are worth another attempt.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import botocore.exceptions as bex
from botocore.parsers import ResponseParserError

from snapmigrate.aws.clients import CREDENTIALS_HELP, NO_REGION
from snapmigrate.errors import (
    BadInput,
    CredentialsMissing,
    NotFound,
    OperationFailed,
    SnapmigrateError,
)

#: What botocore raises for a failed call: the only errors translated here.
AWS_ERRORS = (bex.BotoCoreError, bex.ClientError)

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
        # EnableHttpEndpoint's "The specified resource ID was not found."
        # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_EnableHttpEndpoint.html
        "ResourceNotFoundFault",
    }
)
#: "An error occurred accessing an Amazon Web Services KMS key": the key exists (or not)
#: but this caller -- or RDS on its behalf -- may not use it. Not a "not found".
#: https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_RestoreDBClusterFromSnapshot.html
KMS_ACCESS_CODES = frozenset({"KMSKeyNotAccessibleFault"})
ALREADY_EXISTS_CODES = frozenset(
    {
        "DBClusterAlreadyExistsFault",
        "DBInstanceAlreadyExists",
        "DBInstanceAlreadyExistsFault",
        "DBClusterSnapshotAlreadyExistsFault",
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
SERVER_ERROR_CODES = frozenset({"InternalFailure", "ServiceUnavailable", "InternalError"})


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ``ClientError``, else None."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def _status(exc: BaseException) -> int:
    response: Any = getattr(exc, "response", None) or {}
    return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def is_not_found(exc: BaseException) -> bool:
    return error_code(exc) in NOT_FOUND_CODES


def is_already_exists(exc: BaseException) -> bool:
    """A create that met its own earlier work (a retried or crashed attempt)."""
    return error_code(exc) in ALREADY_EXISTS_CODES


def is_transient(exc: BaseException) -> bool:
    """Throttling, a 5xx, a dropped connection or an unparseable reply (moto's 500)."""
    transport = (
        bex.ConnectionError,
        bex.HTTPClientError,
        ResponseParserError,
        bex.ReadTimeoutError,
    )
    if isinstance(exc, transport):
        return True
    code = error_code(exc)
    if code is None:
        return False
    return code in THROTTLE_CODES or code in SERVER_ERROR_CODES or _status(exc) >= 500


def translate(exc: BaseException, action: str) -> SnapmigrateError:
    """Our error for an exception raised by boto3 while doing ``action``."""
    if isinstance(exc, SnapmigrateError):
        return exc
    if isinstance(exc, bex.NoCredentialsError | bex.PartialCredentialsError):
        return CredentialsMissing(CREDENTIALS_HELP)
    if isinstance(exc, bex.NoRegionError):
        return BadInput(NO_REGION)
    if isinstance(exc, bex.EndpointConnectionError | bex.ConnectTimeoutError):
        return OperationFailed(
            f"cannot reach AWS to {action}: {exc}; check the network, --region and --endpoint-url"
        )
    code = error_code(exc)
    if code is None:
        return OperationFailed(f"{action} failed: {exc}")
    response: Any = getattr(exc, "response", {})
    message = " ".join(str(response.get("Error", {}).get("Message") or exc).split())
    if code in NOT_FOUND_CODES:
        return NotFound(f"{action}: {message}")
    if code in KMS_ACCESS_CODES:
        return OperationFailed(
            f"{action}: AWS could not use the KMS key ({code}: {message})",
            hint="check that the key is enabled and that its key policy lets you (and RDS, "
            "through kms:CreateGrant and kms:DescribeKey) use it",
        )
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
        return OperationFailed(
            f"AWS kept throttling {action} after retries ({code}); try again later"
        )
    return OperationFailed(f"{action} failed ({code}): {message}")


@contextlib.contextmanager
def aws_errors(action: str) -> Iterator[None]:
    """Translate any boto3 error raised inside the block (``action`` says what we tried).

    Product code calls AWS through :meth:`snapmigrate.aws.call.Aws.call`, which
    also retries; this bare translation is for callers that must not retry."""
    try:
        yield
    except AWS_ERRORS as e:
        raise translate(e, action) from e

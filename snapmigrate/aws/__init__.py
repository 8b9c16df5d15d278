"""The AWS layer: clients (:mod:`.clients`), the one call path with its retry
policy (:mod:`.call`), error translation (:mod:`.errors`), and the helpers
that find, own and create resources (:mod:`.rds`, :mod:`.route53`).

Nothing else in snapmigrate calls boto3 directly. The names below load their
module on first use, so a command that never reaches AWS (``verify`` of two
URIs, ``status``) does not import botocore.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from snapmigrate.lazy import exports

if TYPE_CHECKING:
    from snapmigrate.aws.call import ApiCallCounter, Aws, RetryPolicy
    from snapmigrate.aws.clients import MAX_ATTEMPTS, AwsSettings, Clients
    from snapmigrate.aws.errors import aws_errors, error_code, is_transient, translate

_HOMES = {
    "ApiCallCounter": "call",
    "Aws": "call",
    "RetryPolicy": "call",
    "MAX_ATTEMPTS": "clients",
    "AwsSettings": "clients",
    "Clients": "clients",
    "aws_errors": "errors",
    "error_code": "errors",
    "is_transient": "errors",
    "translate": "errors",
}

__all__ = [
    "MAX_ATTEMPTS",
    "ApiCallCounter",
    "Aws",
    "AwsSettings",
    "Clients",
    "RetryPolicy",
    "aws_errors",
    "error_code",
    "is_transient",
    "translate",
]

__getattr__ = exports(__name__, _HOMES)

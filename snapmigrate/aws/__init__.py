"""The AWS layer: clients (:mod:`.clients`), the one call path with its retry
policy (:mod:`.call`), error translation (:mod:`.errors`), and the helpers
that find, own and create resources (:mod:`.rds`, :mod:`.route53`).

Nothing else in snapmigrate calls boto3 directly.
"""

from snapmigrate.aws.call import ApiCallCounter, Aws, RetryPolicy
from snapmigrate.aws.clients import MAX_ATTEMPTS, AwsSettings, Clients
from snapmigrate.aws.errors import aws_errors, error_code, is_transient, translate

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

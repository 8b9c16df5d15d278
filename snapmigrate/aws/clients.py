"""The one place that builds boto3 clients.

Every client comes from :class:`Clients`: one boto3 session (profile, region),
one endpoint URL (``--endpoint-url`` or ``AWS_ENDPOINT_URL``, which is how the
lab and moto are reached), botocore's *standard* retry mode. Calls go through
:class:`snapmigrate.aws.call.Aws`, which translates and retries what survives.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from snapmigrate.errors import BadInput, CredentialsMissing

if TYPE_CHECKING:
    import boto3

    from snapmigrate.aws.call import Aws

CREDENTIALS_HELP = (
    "no AWS credentials found: use --profile NAME (or AWS_PROFILE), "
    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, 'aws sso login', or an instance role; "
    'for the local lab run: eval "$(snapmigrate lab env)"'
)
NO_REGION = "no AWS region: pass --region, set AWS_REGION, or give the profile a region"

#: botocore's standard mode retries throttling, 5xx and connection errors with
#: jittered exponential backoff; ten attempts ride out a bad minute.
MAX_ATTEMPTS = 10


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
        self._aws: Aws | None = None

    def aws(self) -> Aws:
        """The call path over these clients with the default retry policy (built once)."""
        if self._aws is None:
            from snapmigrate.aws.call import Aws

            self._aws = Aws(self)
        return self._aws

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
                    f"AWS profile {self.settings.profile!r} not found: "
                    "check ~/.aws/config or drop --profile"
                ) from e
        return self._session

    @property
    def region(self) -> str:
        region = self.session.region_name
        if not region:
            raise BadInput(NO_REGION)
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

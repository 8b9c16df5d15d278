"""What every command starts from: :class:`Config` (like alembic's ``Config``).

Where AWS is (profile, region, endpoint), where run journals live, how to
reach the databases (the connect map), and where progress goes. The side
effects -- the clients, the clock, the progress sink -- are passed in here,
so a test substitutes moto, the lab or fakes without patching anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from snapmigrate.aws.clients import AwsSettings, Clients
from snapmigrate.connectmap import ConnectMap
from snapmigrate.progress import Progress
from snapmigrate.workflow.journal import Journal

if TYPE_CHECKING:
    from snapmigrate.waiting import Clock

#: Asks the user a yes/no question (the CLI's terminal); None means ``--yes``.
Confirm = Callable[[str], bool]


@dataclass
class Config:
    """The global options of every command, and the side effects they use."""

    aws: AwsSettings = field(default_factory=AwsSettings)
    state_dir: str | None = None
    connect_map: str | None = None
    progress: Progress | None = None
    clock: Clock | None = None
    #: The wall clock (clones' expiry and protection); tests pass another.
    now: Callable[[], datetime] | None = None
    #: Where a cutover says what it does, line by line (default: the log).
    say: Callable[[str], None] | None = None
    _clients: Clients | None = field(default=None, repr=False)

    @classmethod
    def from_options(
        cls,
        *,
        profile: str | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        state_dir: str | None = None,
        connect_map: str | None = None,
        progress: Progress | None = None,
        clients: Clients | None = None,
    ) -> Config:
        """A config from the global options (``clients``, when given, are used as they are)."""
        aws = AwsSettings(profile=profile, region=region, endpoint_url=endpoint_url)
        return cls(
            aws=clients.settings if clients is not None else aws,
            state_dir=state_dir,
            connect_map=connect_map,
            progress=progress,
            _clients=clients,
        )

    def clients(self) -> Clients:
        """The boto3 client factory for these settings (built once)."""
        if self._clients is None:
            self._clients = Clients(self.aws)
        return self._clients

    def journal(self) -> Journal:
        return Journal(self.state_dir)

    def check_connect_map(self) -> ConnectMap:
        """The connect map; a bad one is bad input, found before any change."""
        return ConnectMap.load(self.connect_map)

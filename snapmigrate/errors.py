"""The errors users see. Each carries its exit code (the contract in DESIGN.md)
and a one-line message that says what is wrong and what to do.

Library code raises these (translating boto3/psycopg errors where they happen,
``raise X(...) from e``); only ``snapmigrate.cli`` catches them.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_DIFFERENCES = 3
EXIT_BLOCKED = 4
EXIT_INTERRUPTED = 130


class SnapmigrateError(Exception):
    """Base of every error shown to a user: a message and an exit code."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class OperationFailed(SnapmigrateError):
    """Failed while running: an AWS error after retries, a timeout, a server error."""

    exit_code = EXIT_FAILED


class WaitTimeout(OperationFailed):
    """A resource did not reach the wanted state in time."""


class ResourceFailed(OperationFailed):
    """A resource reached a failure state AWS does not leave by itself (``migration-failed``,
    ``insufficient-capacity``, ...): resuming waits in vain; delete it and start again."""


class BadInput(SnapmigrateError):
    """Bad input or usage; nothing was changed."""

    exit_code = EXIT_BAD_INPUT


class NotFound(BadInput):
    """A named resource (cluster, snapshot, run, zone) does not exist."""


class CredentialsMissing(BadInput):
    """No AWS credentials could be found."""


class ConnectError(BadInput):
    """A database or endpoint cannot be reached or refuses us."""


class DifferencesFound(SnapmigrateError):
    """Verification found differences between source and target."""

    exit_code = EXIT_DIFFERENCES


class PreflightBlocked(SnapmigrateError):
    """The preflight found a blocking problem; nothing was changed."""

    exit_code = EXIT_BLOCKED


class Interrupted(SnapmigrateError):
    """Stopped by the user (Ctrl-C); the run can be resumed."""

    exit_code = EXIT_INTERRUPTED

"""Shared fixtures: isolated AWS settings, moto (in-process and server), call recording."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from snapmigrate.aws import AwsSettings, Clients

pytest_plugins = ["tests.lab_fixtures"]


def _decode_botocore_models_once() -> None:
    """Every test builds fresh boto3 sessions (as every run of the tool does), and each session
    decodes the same JSON service models again: a third of the fast suite's time went there.
    The models are read-only data, so a test process decodes each file once."""
    import botocore.loaders

    decode = botocore.loaders.JSONFileLoader.load_file
    decoded: dict[str, Any] = {}

    def load_file(self: botocore.loaders.JSONFileLoader, file_path: str) -> Any:
        if file_path not in decoded:
            decoded[file_path] = decode(self, file_path)
        return decoded[file_path]

    botocore.loaders.JSONFileLoader.load_file = load_file  # type: ignore[method-assign]


_decode_botocore_models_once()


def _take_ctrl_c_back() -> None:
    """A suite started in the background without job control (``cmd &`` in a script) ignores
    SIGINT, and every process it starts inherits that: the tests that press Ctrl-C on the
    tool would see it ignored. A handler here is reset to the default in each child."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


_take_ctrl_c_back()

MUTATING_PREFIXES = (
    "Create", "Delete", "Modify", "Restore", "Copy", "Add", "Remove", "Failover", "Reboot",
    "Start", "Stop", "Change", "Enable", "Disable", "Put", "Update", "Promote", "Rotate",
)  # fmt: skip


#: Fixtures that start real PostgreSQL servers, the lab or a moto server: a test
#: using one is slow and must say so, or ``-m "not slow"`` stops being the fast suite.
SERVER_FIXTURES = frozenset(
    {"lab", "lab_env", "lab_knobs", "lab_v1", "servers", "db", "empty_db", "server", "pair",
     "moto_server", "moto_endpoint", "cli_env"}
)  # fmt: skip


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse to run a test that starts servers without the ``slow`` mark."""
    unmarked = [
        item.nodeid
        for item in items
        if SERVER_FIXTURES & set(getattr(item, "fixturenames", ()))
        and item.get_closest_marker("slow") is None
    ]
    if unmarked:
        raise pytest.UsageError(f"these tests start servers but are not marked slow: {unmarked}")


def _modes_above(*paths: Path) -> dict[Path, int]:
    return {p: p.stat().st_mode for path in paths for p in (path, *path.parents) if p.exists()}


@pytest.fixture(scope="session", autouse=True)
def no_mode_changes_outside_our_own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The whole session changes the mode of no directory above the checkout, the
    interpreter, pytest's temporary directories or the lab's runtime base."""
    import sys

    from snapmigrate_lab import runtime

    watched = (Path.cwd(), Path(sys.prefix), tmp_path_factory.getbasetemp(), runtime.root().parent)
    before = _modes_above(*watched)
    yield
    changed = {
        str(p): f"{m:o} -> {p.stat().st_mode:o}"
        for p, m in before.items()
        if p.exists() and p.stat().st_mode != m
    }
    assert changed == {}, f"the test session changed modes outside its own directories: {changed}"


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No real AWS: dummy credentials, a fixed region, no user config leaking in."""
    empty = tmp_path_factory.getbasetemp() / "no-aws-config"
    for var in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_SESSION_TOKEN",
        "SNAPMIGRATE_CONNECT_MAP",
        "SNAPMIGRATE_STATE_DIR",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))


class CallRecorder:
    """Every AWS API operation called through a :class:`Clients`, in order."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, model: object, **_: object) -> None:
        self.calls.append(model.name)  # type: ignore[attr-defined]

    @property
    def mutating(self) -> list[str]:
        return [c for c in self.calls if c.startswith(MUTATING_PREFIXES)]


def recording_clients(settings: AwsSettings | None = None) -> tuple[Clients, CallRecorder]:
    """A :class:`Clients` whose every API call is recorded (hooked before any client exists)."""
    clients = Clients(settings or AwsSettings(region="us-east-1"))
    recorder = CallRecorder()
    clients.session.events.register("before-call", recorder)
    return clients, recorder


@pytest.fixture
def moto() -> Iterator[None]:
    """moto in-process: every boto3 client in the test talks to it."""
    from moto import mock_aws

    with mock_aws():
        yield


@pytest.fixture
def clients(moto: None) -> Clients:
    return Clients(AwsSettings(region="us-east-1"))


@pytest.fixture
def recorded(moto: None) -> tuple[Clients, CallRecorder]:
    return recording_clients()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto's threaded server on a free loopback port (for CLI tests in subprocesses)."""
    from moto.server import ThreadedMotoServer

    from snapmigrate_lab.postgres import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def moto_endpoint(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A clean moto server state for this test, with AWS_ENDPOINT_URL pointing at it."""
    import urllib.request

    urllib.request.urlopen(
        urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    ).read()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    yield moto_server


@pytest.fixture
def cli_env(moto_endpoint: str, tmp_path: Path) -> dict[str, str]:
    """Environment for running the real ``snapmigrate`` in a subprocess against moto."""
    return {
        **os.environ,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "SNAPMIGRATE_STATE_DIR": str(tmp_path / "state"),
    }

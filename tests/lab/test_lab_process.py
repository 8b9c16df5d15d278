"""``snapmigrate lab up|env|down`` as users run them (the demo: test_demo.py): real processes,
real ports; after ``down`` nothing of the lab is left (checked for this lab's
own pids, ports and directory only)."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from snapmigrate.errors import OperationFailed
from snapmigrate_lab import Lab, runtime
from snapmigrate_lab.runtime import alive
from tests.lab.conftest import port_is_free, wait_cluster

pytestmark = pytest.mark.slow  # real PostgreSQL servers, the lab, or a moto server


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "snapmigrate", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or dict(os.environ),
    )


def processes_using(directory: Path) -> list[int]:
    """Live pids whose command line names ``directory`` (the daemon, postmasters)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if str(directory).encode() in cmdline and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def parse_exports(text: str) -> dict[str, str]:
    env = {}
    for line in text.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = shlex.split(value)[0] if value else ""
    return env


def test_up_env_plan_down_leave_nothing_behind(tmp_path: Path, take_down):
    directory = take_down(tmp_path / "lab")
    done = run("lab", "up", "--dir", str(directory), "--seed", "v1", "--scale", "1", "-o", "json")
    assert done.returncode == 0, done.stderr
    up = json.loads(done.stdout)
    assert (
        up["seed"]["cluster_id"] == "legacy-v1"
        and up["seed"]["tables"]["public.pgbench_accounts"] == 100000
    )

    done = run("lab", "env", "--dir", str(directory))
    assert done.returncode == 0, done.stderr
    env = parse_exports(done.stdout)
    assert env["AWS_ENDPOINT_URL"] == up["endpoint_url"]
    assert {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "SNAPMIGRATE_CONNECT_MAP",
        "PGPASSFILE",
    } <= set(env)
    assert oct(Path(env["PGPASSFILE"]).stat().st_mode & 0o777) == "0o600"

    # the real tool, configured only by `lab env`, plans against the lab
    done = run(
        "plan", "legacy-v1", "--target", "legacy-v2", "-o", "json", env={**os.environ, **env}
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["source"]["engine_mode"] == "serverless"

    # the seed's password is in pgpass (0600) and nowhere else in the lab's files
    lab = Lab(directory)
    password = lab.server_for("legacy-v1").password
    assert len(password) > 16
    for name in ("lab.json", "daemon.log", "connect-map.json"):
        assert password not in (directory / name).read_text()
    assert password not in done.stdout

    # a second cluster, so down has several servers to stop
    rds = lab.client("rds")
    rds.create_db_cluster_snapshot(
        DBClusterIdentifier="legacy-v1", DBClusterSnapshotIdentifier="s1"
    )
    rds.restore_db_cluster_from_snapshot(
        DBClusterIdentifier="copy", SnapshotIdentifier="s1", Engine="aurora-postgresql"
    )
    wait_cluster(rds, "copy")
    state = lab.state
    assert state is not None and len(state.servers) == 2
    pids = [state.pid, *(s.pid for s in state.servers if s.pid)]
    ports = [
        state.port,
        *(s.port for s in state.servers),
        *(s.endpoint_port for s in state.servers if s.endpoint_port),
    ]
    assert len(pids) == 3 and all(alive(p) for p in pids)
    assert processes_using(directory)

    done = run("lab", "down", "--dir", str(directory))
    assert done.returncode == 0, done.stderr
    assert "removed" in done.stdout
    assert not directory.exists()
    assert [p for p in pids if alive(p)] == []
    assert [p for p in ports if not port_is_free(p)] == []
    assert processes_using(directory) == []

    done = run("lab", "down", "--dir", str(directory))
    assert done.returncode == 0 and "nothing to do" in done.stdout


def test_down_after_the_daemon_died_still_stops_the_servers(tmp_path: Path, take_down):
    lab = Lab(take_down(tmp_path / "lab"))
    state = lab.up()
    assert lab.up().pid == state.pid  # idempotent
    rds = lab.client("rds")
    rds.create_db_cluster(
        DBClusterIdentifier="gone",
        Engine="aurora-postgresql",
        MasterUsername="m",
        MasterUserPassword="pw-12345678",
    )
    first = lab.state.server("gone")
    lab.reset()  # moto forgets everything, and so does the data plane
    assert rds.describe_db_clusters()["DBClusters"] == [] and lab.state.servers == ()
    assert not alive(first.pid) and not Path(first.datadir).exists()
    rds.create_db_cluster(
        DBClusterIdentifier="orphan",
        Engine="aurora-postgresql",
        MasterUsername="m",
        MasterUserPassword="pw-12345678",
    )
    server = lab.state.server("orphan")
    assert server is not None and server.pid and alive(server.pid)
    os.kill(state.pid, signal.SIGKILL)
    runtime.wait_gone([state.pid], 10)
    assert not lab.is_running()
    with pytest.raises(OperationFailed, match=r"does not answer \(.*\): is it up\?"):
        lab.knobs()
    result = lab.down()
    assert result.servers_stopped == 1 and result.removed
    assert not alive(server.pid) and port_is_free(server.port)
    assert processes_using(lab.dir) == []


def test_bad_input_exits_2_and_touches_nothing(tmp_path: Path):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "precious.txt").write_text("keep me")
    done = run("lab", "up", "--dir", str(busy))
    assert done.returncode == 2
    assert "is not empty and holds no lab" in done.stderr
    assert sorted(p.name for p in busy.iterdir()) == ["precious.txt"]

    done = run("lab", "down", "--dir", str(busy))
    assert done.returncode == 0 and (busy / "precious.txt").exists()

    done = run("lab", "env", "--dir", str(tmp_path / "nothing"))
    assert done.returncode == 2
    assert done.stderr.strip().startswith("snapmigrate: error: no lab is running in")
    assert "Traceback" not in done.stderr

    done = run("lab", "up", "--dir", str(tmp_path / "x"), "--throttle-rate", "2")
    assert done.returncode == 2 and not (tmp_path / "x").exists()
    done = run("lab", "up", "--dir", str(tmp_path / "x"), "--cluster-id", "Bad--id", "--seed", "v1")
    assert done.returncode == 2 and "two hyphens" in done.stderr and not (tmp_path / "x").exists()


def test_a_lab_watching_a_process_stops_with_it(tmp_path: Path):
    watched = subprocess.Popen(["sleep", "60"])
    lab = Lab(tmp_path / "lab")
    try:
        state = lab.up(watch_pid=watched.pid)
        lab.client("rds").create_db_cluster(
            DBClusterIdentifier="w",
            Engine="aurora-postgresql",
            MasterUsername="m",
            MasterUserPassword="pw-12345678",
        )
        server = lab.state.server("w")
        watched.kill()
        watched.wait()
        assert runtime.wait_gone([state.pid], 15)
        assert not alive(server.pid) and port_is_free(server.port)
        assert lab.state.status == "stopped"
    finally:
        lab.down()
    assert processes_using(lab.dir) == []


def test_the_users_aws_profile_does_not_reach_the_lab(lab, monkeypatch):
    """A profile that exists only on the user's other machine must not break the lab."""
    from snapmigrate_lab.startstop import _daemon_env

    monkeypatch.setenv("AWS_PROFILE", "nobody-has-this-profile")
    assert "AWS_PROFILE" not in _daemon_env()
    assert isinstance(lab.client("rds").describe_db_clusters()["DBClusters"], list)
    assert isinstance(lab.clients().rds().describe_db_clusters()["DBClusters"], list)

"""The lab runs wherever snapmigrate is installed -- under a private (mode 700)
directory, as root or as an ordinary user -- and changes no mode outside what
it made itself (see snapmigrate_lab.runtime)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import snapmigrate
import snapmigrate_lab
from snapmigrate.errors import BadInput, OperationFailed
from snapmigrate_lab import Lab, runtime, up
from snapmigrate_lab.postgres import running
from snapmigrate_lab.runtime import alive
from tests.lab.conftest import wait_cluster

ROOT_ONLY = pytest.mark.skipif(
    not runtime.is_root(), reason="the server user differs from ours only under root"
)
PASSWORD = "pw-runtime-12345"


def ancestors_modes(*paths: Path) -> dict[str, int]:
    """The mode of every directory above (and at) each path that exists."""
    modes = {}
    for path in paths:
        for p in (path, *path.parents):
            if p.exists():
                modes[str(p)] = p.stat().st_mode
    return modes


def changed_modes(before: dict[str, int]) -> dict[str, tuple[int, int]]:
    """What was there before and has another mode now (what the lab made itself is not compared)."""
    now = {name: Path(name).stat().st_mode for name in before if Path(name).exists()}
    return {name: (before[name], mode) for name, mode in now.items() if mode != before[name]}


@pytest.fixture
def public_base() -> Iterator[Path]:
    """A runtime base anyone may enter (we make it, so we may set its mode)."""
    base = Path(tempfile.mkdtemp(prefix="snapmigrate-runtime-test-", dir="/tmp"))
    base.chmod(0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.mark.slow
def test_a_lab_under_a_private_directory_changes_no_mode_outside_its_own(tmp_path: Path, take_down):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    lab = Lab(take_down(private / "project" / "lab"))
    watched = (lab.dir, Path(sys.prefix), Path(snapmigrate.__file__), runtime.root().parent)
    before = ancestors_modes(*watched)

    lab.up()
    rds = lab.client("rds")
    rds.create_db_cluster(
        DBClusterIdentifier="priv",
        Engine="aurora-postgresql",
        MasterUsername="m",
        MasterUserPassword=PASSWORD,
    )
    wait_cluster(rds, "priv")
    rds.create_db_cluster_snapshot(DBClusterIdentifier="priv", DBClusterSnapshotIdentifier="priv-s")
    rds.restore_db_cluster_from_snapshot(
        DBClusterIdentifier="priv-copy", SnapshotIdentifier="priv-s", Engine="aurora-postgresql"
    )
    wait_cluster(rds, "priv-copy")
    assert lab.server_for("priv-copy").psql("SELECT 41 + 1").strip() == "42"
    home = runtime.lab_home(lab.dir)
    assert all(Path(s.datadir).is_relative_to(home) for s in lab.state.servers)
    if runtime.is_root():
        assert (lab.dir / "data").resolve() == home and home.is_relative_to(runtime.root())
    assert changed_modes(before) == {}

    assert lab.down().removed
    assert not home.exists() and not lab.dir.exists()
    assert changed_modes(before) == {}


@ROOT_ONLY
def test_what_the_server_user_cannot_enter_is_named():
    closed = Path(tempfile.mkdtemp(prefix="snapmigrate-closed-"))
    try:
        assert stat_mode(closed) == 0o700
        assert runtime.blocker(closed / "a" / "b") == closed
        assert runtime.blocker(Path("/usr/bin")) is None
        assert runtime.blocker(closed, user="root") is None
        with pytest.raises(
            BadInput,
            match=(
                r"out of reach of the PostgreSQL server user .* is mode 700 "
                r".* SNAPMIGRATE_LAB_RUNTIME"
            ),
        ):
            runtime.require_reachable(closed / "data", "the data directory")
    finally:
        closed.rmdir()


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@ROOT_ONLY
def test_a_runtime_base_out_of_reach_is_refused_before_anything_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    monkeypatch.setenv(runtime.RUNTIME_VARIABLE, str(closed))
    before = ancestors_modes(closed)
    done = subprocess.run(
        [sys.executable, "-m", "snapmigrate", "lab", "up", "--dir", str(tmp_path / "lab")],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
    )
    assert done.returncode == 2, done.stderr
    message = done.stderr.strip().splitlines()
    assert (
        len(message) == 1
        and "SNAPMIGRATE_LAB_RUNTIME" in message[0]
        and "changes no modes" in message[0]
    )
    assert not (tmp_path / "lab").exists() and list(closed.iterdir()) == []
    assert changed_modes(before) == {}


@ROOT_ONLY
def test_an_installation_out_of_reach_is_staged_once_by_hard_links_and_removed_with_its_last_user(
    tmp_path: Path, public_base: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(runtime.RUNTIME_VARIABLE, str(public_base))
    private = tmp_path / "site"  # under pytest's mode-700 basetemp
    (private / "pkg" / "bin").mkdir(parents=True)
    (private / "pkg" / "bin" / "tool").write_text("#!/bin/sh\necho tool\n")
    (private / "pkg" / "bin" / "tool").chmod(0o755)
    (private / "pkg.libs").mkdir()
    (private / "pkg.libs" / "libx.so").write_text("lib")
    assert runtime.blocker(private / "pkg" / "bin") is not None

    home = runtime.scratch_home()
    staged = runtime.reachable_install(private, ("pkg", "pkg.libs"), home)
    assert (
        staged.parent == runtime.root() / "pg" and runtime.blocker(staged / "pkg" / "bin") is None
    )
    assert (staged / "pkg" / "bin" / "tool").stat().st_ino == (
        private / "pkg" / "bin" / "tool"
    ).stat().st_ino
    assert (staged / "pkg.libs" / "libx.so").exists()
    assert runtime.reachable_install(private, ("pkg", "pkg.libs")) == staged  # reused
    assert (home / runtime.INSTALLS_FILE).read_text().split() == [staged.name]

    runtime.prune()
    assert staged.exists()  # listed by a live home
    shutil.rmtree(home)
    runtime.prune()
    assert not staged.exists() and not runtime.root().exists()


@pytest.mark.slow
def test_scratch_servers_of_a_process_that_died_are_stopped_and_removed(
    public_base: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(runtime.RUNTIME_VARIABLE, str(public_base))
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            (
                "import os, sys\n"
                "from snapmigrate_lab.postgres import running\n"
                "ctx = running(password='x')\n"
                "server = ctx.__enter__()\n"
                "print(server.pid(), server.datadir, flush=True)\n"
                "os._exit(0)  # killed before its cleanup\n"
            ),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
        check=True,
    )
    pid, datadir = child.stdout.split()
    assert alive(int(pid)) and Path(datadir).exists()
    with running(password="y"):  # any later scratch use prunes what dead processes left
        pass
    assert not alive(int(pid)) and not Path(datadir).exists()
    assert not runtime.root().exists()


@pytest.mark.slow
def test_a_daemon_whose_directory_is_removed_stops_its_servers_and_exits(tmp_path: Path, take_down):
    lab = Lab(take_down(tmp_path / "lab"))
    state = lab.up()
    rds = lab.client("rds")
    rds.create_db_cluster(
        DBClusterIdentifier="orphaned",
        Engine="aurora-postgresql",
        MasterUsername="m",
        MasterUserPassword=PASSWORD,
    )
    server = lab.state.server("orphaned")
    assert server is not None and server.pid and alive(server.pid)
    home = runtime.lab_home(lab.dir)
    shutil.rmtree(lab.dir)
    assert runtime.wait_gone([state.pid], 30)
    assert not alive(server.pid)
    deadline = time.monotonic() + 10
    while home.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not home.exists()


@pytest.mark.slow
def test_a_lab_started_where_one_crashed_and_was_removed_starts_clean(tmp_path: Path, take_down):
    """A crashed lab (its daemon killed) whose directory then went (a test session's temp
    directory is wiped at the next start) leaves its data home and servers; the next lab
    in that directory stops and removes them before it starts, so no disk leaks."""
    lab = Lab(take_down(tmp_path / "lab"))
    state = lab.up()
    rds = lab.client("rds")
    rds.create_db_cluster(
        DBClusterIdentifier="left",
        Engine="aurora-postgresql",
        MasterUsername="m",
        MasterUserPassword=PASSWORD,
    )
    server = lab.state.server("left")
    assert server is not None and server.pid and alive(server.pid)
    home = runtime.lab_home(lab.dir)
    os.kill(state.pid, signal.SIGKILL)
    assert runtime.wait_gone([state.pid], 30)
    shutil.rmtree(lab.dir)
    stale = sorted(p.name for p in (home / "clusters").iterdir()) if home.is_dir() else []
    again = Lab(lab.dir)
    again.up()
    assert not alive(server.pid)
    left = sorted(p.name for p in (runtime.lab_home(lab.dir) / "clusters").glob("*"))
    assert not set(stale) & set(left), (stale, left)
    assert again.client("rds").describe_db_clusters()["DBClusters"] == []


@pytest.mark.slow
def test_a_lab_up_that_fails_takes_down_what_it_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, take_down
):
    lab = Lab(take_down(tmp_path / "slow"))
    with pytest.raises(OperationFailed, match="did not answer within"):
        lab.up(timeout=0.001)
    assert not lab.dir.exists() and not runtime.lab_home(lab.dir).exists()

    def broken_seed(self, kind, **options):
        assert self.is_running()
        raise OperationFailed("the seed broke")

    monkeypatch.setattr(Lab, "seed", broken_seed)
    directory = take_down(tmp_path / "seeded")
    with pytest.raises(OperationFailed, match="the seed broke"):
        up(directory, seed="v1")
    assert not directory.exists() and not runtime.lab_home(directory).exists()


@ROOT_ONLY
@pytest.mark.slow
def test_an_ordinary_user_runs_the_lab_in_a_private_home(tmp_path: Path):
    """As a non-root user (made with useradd): the servers run as that user, the
    data stays in its --dir, nothing is staged, and its parents keep their modes."""
    user = "snapmigrate_tester"
    if subprocess.run(["id", user], capture_output=True).returncode != 0:
        subprocess.run(
            ["useradd", "--no-create-home", "-s", "/bin/sh", user], check=True, capture_output=True
        )
    import pwd

    entry = pwd.getpwnam(user)
    mine = Path(tempfile.mkdtemp(prefix="snapmigrate-user-", dir="/tmp"))  # mode 700, then theirs
    try:
        os.chown(mine, entry.pw_uid, entry.pw_gid)
        python, path = _python_for(user, mine)
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(mine),
            "PYTHONPATH": path,
            "LANG": "C.UTF-8",
            **(
                {"LD_LIBRARY_PATH": os.environ["LD_LIBRARY_PATH"]}
                if "LD_LIBRARY_PATH" in os.environ
                else {}
            ),
        }
        before = ancestors_modes(mine)

        def as_user(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [python, "-m", "snapmigrate", *args],
                user=entry.pw_uid,
                group=entry.pw_gid,
                extra_groups=[],
                env=env,
                cwd=mine,
                capture_output=True,
                text=True,
                timeout=180,
            )

        done = as_user(
            "lab", "up", "--dir", str(mine / "lab"), "--seed", "v1", "--scale", "1", "-o", "json"
        )
        assert done.returncode == 0, done.stderr
        answer = json.loads(done.stdout)
        assert answer["seed"]["tables"]["public.pgbench_accounts"] == 100000
        for server in answer["servers"]:
            assert Path(server["datadir"]).is_relative_to(mine / "lab" / "data")
            assert Path(f"/proc/{server['pid']}").stat().st_uid == entry.pw_uid
        assert not (Path("/var/tmp") / f"snapmigrate-{entry.pw_uid}").exists()
        done = as_user("lab", "down", "--dir", str(mine / "lab"))
        assert done.returncode == 0, done.stderr
        assert not (mine / "lab").exists()
        assert changed_modes(before) == {}
    finally:
        subprocess.run(["pkill", "-KILL", "-u", user], capture_output=True)
        shutil.rmtree(mine, ignore_errors=True)


def _python_for(user: str, home: Path) -> tuple[str, str]:
    """An interpreter and PYTHONPATH the user can run: this interpreter when it
    is within reach, else the system's of the same version; snapmigrate and its
    dependencies as hard links in the user's home."""
    candidates = [
        Path(sys.executable),
        Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"),
    ]
    python = next(
        (
            p.resolve()
            for p in candidates
            if p.exists() and runtime.blocker(p.resolve().parent, user=user) is None
        ),
        None,
    )
    if python is None:
        pytest.fail(
            f"no Python {sys.version_info.major}.{sys.version_info.minor} that {user} can run"
        )
    site = next(Path(p) for p in sys.path if p.endswith("site-packages") and Path(p).is_dir())
    links = home / "site"
    subprocess.run(["cp", "-al", str(site), str(links)], check=True)
    (home / "src").mkdir()
    for package in (snapmigrate, snapmigrate_lab):
        source = Path(package.__file__).parent
        subprocess.run(["cp", "-al", str(source), str(home / "src" / source.name)], check=True)
    for directory, _, _ in os.walk(home):
        os.chmod(directory, 0o755)
    return str(python), f"{home / 'src'}:{links}"

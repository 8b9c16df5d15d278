"""The user's real path: ``python -m snapmigrate`` in a subprocess against moto's
server, and the confirmation prompt on a real terminal (a pty)."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time

import boto3
import pytest

from tests import seed

pytestmark = pytest.mark.slow  # real PostgreSQL servers, the lab, or a moto server


def run(args: list[str], env: dict[str, str], **kw):
    return subprocess.run(
        [sys.executable, "-m", "snapmigrate", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        **kw,
    )


def test_migrate_status_cleanup_as_a_user_runs_them(cli_env):
    rds = boto3.client("rds", endpoint_url=cli_env["AWS_ENDPOINT_URL"])
    seed.v1_cluster(rds)
    done = run(
        [
            "migrate",
            "legacy",
            "--target",
            "fresh",
            "--readers",
            "1",
            "--yes",
            "--no-connect",
            "-o",
            "json",
        ],
        cli_env,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["state"] == "done"
    run_id = data["run_id"]
    # progress and logs on stderr, one line per step
    assert "[1/5] snapshot:" in done.stderr and "[3/5] instances:" in done.stderr
    assert "waiting for cluster fresh" in done.stderr  # no terminal: log lines, not bars
    listed = run(["status"], cli_env)
    assert listed.returncode == 0 and run_id in listed.stdout
    shown = run(["status", run_id, "-o", "json"], cli_env)
    assert json.loads(shown.stdout)["steps"][1]["resources"] == {"cluster": "fresh"}
    quiet = run(["migrate", "--resume", run_id, "--no-connect", "-q"], cli_env)
    assert quiet.returncode == 0 and quiet.stderr == ""
    no_tty = run(["cleanup", run_id], cli_env, stdin=subprocess.DEVNULL)
    assert no_tty.returncode == 2 and "pass --yes" in no_tty.stderr
    gone = run(["cleanup", run_id, "--yes", "-o", "json"], cli_env)
    assert gone.returncode == 0, gone.stderr
    assert [c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]] == [
        "legacy"
    ]


def answer_on_a_terminal(args: list[str], env: dict[str, str], answer: str) -> tuple[int, str]:
    """Run with stdin/stderr on a pty, answer the prompt, return (exit code, what the terminal
    showed)."""
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "snapmigrate", *args],
        env=env,
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    shown = b""
    deadline = time.monotonic() + 90
    answered = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            shown += chunk
            if not answered and b"[y/N]" in shown:
                os.write(master, answer.encode() + b"\n")
                answered = True
        if proc.poll() is not None and not ready:
            break
    proc.communicate(timeout=60)
    os.close(master)
    return proc.returncode, shown.decode(errors="replace")


def test_the_prompt_on_a_terminal(cli_env):
    rds = boto3.client("rds", endpoint_url=cli_env["AWS_ENDPOINT_URL"])
    seed.v1_cluster(rds)
    args = ["migrate", "legacy", "--target", "fresh", "--no-connect"]
    code, shown = answer_on_a_terminal(args, cli_env, "n")
    assert code == 2, shown
    assert "Apply these 5 steps to create fresh from legacy? [y/N]" in shown
    assert "not applied: nothing was changed" in shown
    assert [c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]] == [
        "legacy"
    ]
    code, shown = answer_on_a_terminal(args, cli_env, "y")
    assert code == 0, shown
    assert "fresh" in [c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]]

"""``snapmigrate lab load`` on the session lab's seeded v1 cluster: a write load
through the DNS record, its ids file, the loss check (0 all there, 3 some lost),
a clean stop on Ctrl-C or SIGTERM, and bad input refused before anything is written.

Each test writes its own table on ``legacy-v1`` and drops it afterwards, so the
seed stays as other tests expect it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from snapmigrate.cli import AppContext, cli
from tests.lab_fixtures import unique_id

pytestmark = pytest.mark.slow  # real PostgreSQL servers, the lab, or a moto server


def invoke(*args: str):
    return CliRunner().invoke(cli, ["lab", "load", *args], obj=AppContext())


@pytest.fixture
def table(lab, lab_v1) -> Iterator[str]:
    name = unique_id("load").replace("-", "_")
    yield name
    lab.server_for(lab_v1.cluster_id).psql(
        f"DROP TABLE IF EXISTS {name}", dbname="app"
    )  # test-made name


def table_exists(lab, lab_v1, name: str) -> bool:
    found = lab.server_for(lab_v1.cluster_id).psql(
        f"SELECT to_regclass('public.{name}') IS NOT NULL", dbname="app"
    )
    return found.strip() == "t"


def test_load_through_the_dns_name_then_check_then_lose_some(
    lab, lab_v1, table: str, tmp_path: Path
):
    ids = tmp_path / "ids.txt"
    done = invoke(
        "--dir",
        str(lab.dir),
        "--duration",
        "2",
        "--ids-file",
        str(ids),
        "--table",
        table,
        "-o",
        "json",
    )
    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)
    assert data["name"] == lab_v1.dns_record == "db.lab.internal"
    assert (data["database"], data["user"], data["table"], data["stopped_by"]) == (
        "app",
        lab_v1.user,
        table,
        "duration",
    )
    assert (
        data["committed"] > 50 and data["errors"] == 0 and data["elapsed_s"] >= 1.9
    )  # ran its --duration
    written = [int(line) for line in ids.read_text().split()]
    assert len(written) == len(set(written)) == data["committed"]
    server = lab.server_for(lab_v1.cluster_id)
    on_server = int(server.psql(f"SELECT count(*) FROM {table}", dbname="app"))
    assert on_server == len(written)

    # a second load on the same table commits too (ids never collide with an earlier run's)
    again = tmp_path / "again.txt"
    done = invoke(
        "--dir",
        str(lab.dir),
        "--duration",
        "1",
        "--ids-file",
        str(again),
        "--table",
        table,
        "-o",
        "json",
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["errors"] == 0
    second = {int(line) for line in again.read_text().split()}
    assert second and not second & set(written)

    done = invoke("--dir", str(lab.dir), "--check", "--ids-file", str(ids), "--table", table)
    assert done.exit_code == 0, done.output
    assert f"All {len(written):,} committed ids are there." in done.stdout

    gone = written[:7]
    server.psql(
        f"DELETE FROM {table} WHERE id IN ({', '.join(map(str, gone))})", dbname="app"
    )  # ints only
    done = invoke(
        "--dir", str(lab.dir), "--check", "--ids-file", str(ids), "--table", table, "-o", "json"
    )
    assert done.exit_code == 3, done.output
    found = json.loads(done.stdout)
    assert (found["committed"], found["present"], found["lost"]) == (
        len(written),
        len(written) - 7,
        7,
    )
    assert sorted(found["missing_sample"]) == sorted(gone)
    assert f"7 of {len(written):,} committed ids are not on db.lab.internal now" in done.stderr


def test_check_through_a_cluster_endpoint_without_the_table_counts_all_lost(
    lab, lab_v1, tmp_path: Path
):
    ids = tmp_path / "ids.txt"
    ids.write_text("1\n2\n\n3\n")
    done = invoke(
        "--dir",
        str(lab.dir),
        "--check",
        "--ids-file",
        str(ids),
        "--name",
        lab_v1.endpoint.upper(),
        "--table",
        "no_such_table",
    )
    assert done.exit_code == 3, done.output
    assert (
        "LOST 3 of 3 committed ids" in done.stdout
        and "does not exist on the database the name reaches now" in done.stdout
    )


@pytest.mark.parametrize(
    ("sig", "stopped_by"), [(signal.SIGINT, "interrupted"), (signal.SIGTERM, "stopped")]
)
def test_ctrl_c_or_kill_stops_the_load_cleanly_with_its_summary(
    lab, lab_v1, table: str, tmp_path: Path, sig: int, stopped_by: str
):
    ids = tmp_path / "ids.txt"
    env = {**os.environ, **lab.env()}
    proc = subprocess.Popen(
        [sys.executable, "-m", "snapmigrate", "lab", "load", "--dir", str(lab.dir),
         "--ids-file", str(ids), "--table", table, "-o", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (
            ids.exists() and len(ids.read_text().split()) >= 20
        ):
            time.sleep(0.1)  # the ids are written as they commit, before the load ends
        assert ids.exists() and len(ids.read_text().split()) >= 20
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    data = json.loads(out)
    assert data["stopped_by"] == stopped_by and data["duration_s"] is None
    assert len(ids.read_text().split()) == data["committed"] >= 20
    assert "until Ctrl-C" in err


def test_bad_input_is_refused_before_anything_is_written(lab, lab_v1, table: str, tmp_path: Path):
    d = str(lab.dir)
    done = invoke("--dir", d, "--name", "db.nowhere.internal", "--table", table)
    assert done.exit_code == 2
    assert (
        "db.nowhere.internal:5432 is not an endpoint or record of the lab" in done.output
        and "db.lab.internal:5432" in done.output
    )

    done = invoke(
        "--dir",
        d,
        "--ids-file",
        str(tmp_path / "missing-dir" / "ids.txt"),
        "--table",
        table,
        "--duration",
        "1",
    )
    assert done.exit_code == 2 and "cannot write the ids file" in done.output

    done = invoke("--dir", d, "--check", "--table", table)
    assert done.exit_code == 2 and "--check needs --ids-file" in done.output

    ids = tmp_path / "ids.txt"
    ids.write_text("12\nnot-an-id\n")
    done = invoke("--dir", d, "--check", "--ids-file", str(ids), "--workers", "3", "--table", table)
    assert done.exit_code == 2 and "--check only reads: drop --workers" in done.output
    done = invoke("--dir", d, "--check", "--ids-file", str(ids), "--table", table)
    assert done.exit_code == 2 and "line 2 of" in done.output and "is not an id" in done.output
    ids.write_text("")
    done = invoke("--dir", d, "--check", "--ids-file", str(ids), "--table", table)
    assert done.exit_code == 2 and "holds no id" in done.output

    done = invoke("--dir", str(tmp_path / "no-lab"), "--duration", "1", "--table", table)
    assert done.exit_code == 2 and "no lab is running in" in done.output
    done = invoke("--dir", d, "--workers", "0", "--table", table)
    assert done.exit_code == 2

    assert not table_exists(lab, lab_v1, table)  # nothing was written

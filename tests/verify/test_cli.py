"""``snapmigrate verify`` through click and as a real process: output, reports, exit codes, bad
input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from snapmigrate.cli import AppContext, cli
from snapmigrate_lab.postgres import free_port
from tests.verify.conftest import SOURCE_PASSWORD, TARGET_PASSWORD, DbPair

pytestmark = pytest.mark.slow  # real PostgreSQL servers, the lab, or a moto server


def invoke(args: list[str]):
    return CliRunner().invoke(cli, args, obj=AppContext())


def test_equal_databases_print_a_table_and_exit_0(db: DbPair):
    src, tgt = db.uris()
    result = invoke(["verify", "--source", src, "--target", tgt, "-q"])
    assert result.exit_code == 0, result.output
    assert "app.accounts" in result.stdout and "25,000" in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("EQUAL: ")
    assert SOURCE_PASSWORD not in result.output and TARGET_PASSWORD not in result.output


def test_json_contract_and_exit_3_with_reports(db: DbPair, tmp_path: Path):
    db.on_target("DELETE FROM app.parent WHERE id = 5; DROP INDEX app.accounts_name_idx")
    src, tgt = db.uris()
    for suffix in (".md", ".html", ".json"):
        report = tmp_path / f"report{suffix}"
        result = invoke(
            ["verify", "-s", src, "-t", tgt, "-o", "json", "--report", str(report), "--jobs", "3"]
        )
        assert result.exit_code == 3, result.output
        data = json.loads(result.stdout)
        assert data["equal"] is False and isinstance(data["elapsed_s"], float)
        parent = next(t for t in data["tables"] if t["name"] == "parent")
        assert {"schema", "name", "source_rows", "target_rows", "equal"} <= set(parent)
        assert (parent["source_rows"], parent["target_rows"], parent["equal"]) == (100, 99, False)
        assert data["differing_rows"] == [
            {
                "database": db.name,
                "schema": "app",
                "table": "parent",
                "key": {"id": 5},
                "kind": "missing_on_target",
                "columns": [],
                "source": {"id": "5", "v": "p5"},
                "target": None,
            }
        ]
        assert [d["object"] for d in data["schema_differences"]] == ["app.accounts_name_idx"]
        text = report.read_text()
        assert "accounts_name_idx" in text and ("DIFFERENT" in text or suffix == ".json")
    assert json.loads((tmp_path / "report.json").read_text())["equal"] is False
    assert (tmp_path / "report.html").read_text().startswith("<!doctype html>")


def test_html_report_escapes_names(empty_db: DbPair, tmp_path: Path):
    empty_db.on_source('CREATE TABLE "<script>x</script>" (id int PRIMARY KEY)')
    src, tgt = empty_db.uris()
    result = invoke(["verify", "-s", src, "-t", tgt, "-q", "--report", str(tmp_path / "r.html")])
    assert result.exit_code == 3
    page = (tmp_path / "r.html").read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_bad_report_suffix_is_rejected_before_connecting(tmp_path: Path):
    dead = f"postgresql://u:p@127.0.0.1:{free_port()}/db"
    result = invoke(["verify", "-s", dead, "-t", dead, "--report", str(tmp_path / "r.txt")])
    assert result.exit_code == 2
    assert "unknown format .txt" in result.output and "cannot connect" not in result.output


def test_unreachable_source(db: DbPair):
    _, tgt = db.uris()
    result = invoke(
        ["verify", "-s", f"postgresql://postgres:secret-x@127.0.0.1:{free_port()}/x", "-t", tgt]
    )
    assert result.exit_code == 2
    assert (
        "cannot connect to the source (127.0.0.1:" in result.output
        and "secret-x" not in result.output
    )


def test_wrong_target_password_names_the_side_never_the_password(db: DbPair):
    src, _ = db.uris()
    wrong = f"postgresql://postgres:Wr0ng-{TARGET_PASSWORD}@127.0.0.1:{db.target.port}/{db.name}"
    result = invoke(["verify", "-s", src, "-t", wrong])
    assert result.exit_code == 2
    line = result.output.strip().splitlines()[-1]
    assert (
        line.startswith("snapmigrate: error: cannot connect to the target")
        and "password authentication failed" in line
    )
    assert "Wr0ng" not in result.output


def test_unknown_database(db: DbPair):
    server = f"postgresql://postgres:{SOURCE_PASSWORD}@127.0.0.1:{db.source.port}"
    target = f"postgresql://postgres:{TARGET_PASSWORD}@127.0.0.1:{db.target.port}"
    result = invoke(["verify", "-s", server, "-t", target, "--database", "nope"])
    assert result.exit_code == 2 and "database 'nope' does not exist on the source" in result.output
    src, _ = db.uris()
    result = invoke(["verify", "-s", src, "-t", f"{target}/nope"])
    assert (
        result.exit_code == 2
        and "cannot connect to the target" in result.output
        and '"nope" does not exist' in result.output
    )


def test_baseline_problems_are_bad_input(db: DbPair, tmp_path: Path):
    src, tgt = db.uris()
    result = invoke(["verify", "-s", src, "-t", tgt, "--allow-drift"])
    assert result.exit_code == 2 and "--allow-drift needs --baseline" in result.output
    result = invoke(["verify", "-s", src, "-t", tgt, "--baseline", str(tmp_path / "absent.json")])
    assert result.exit_code == 2 and "does not exist" in result.output
    (tmp_path / "bad.json").write_text("[1]")
    result = invoke(["verify", "-s", src, "-t", tgt, "--baseline", str(tmp_path / "bad.json")])
    assert result.exit_code == 2 and "baseline" in result.output


def test_real_process_json_and_progress(db: DbPair):
    src, tgt = db.uris()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "snapmigrate",
            "verify",
            "--source",
            src,
            "--target",
            tgt,
            "--mode",
            "counts",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ},
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["equal"] is True and data["mode"] == "counts"
    assert "app.accounts" in done.stderr  # progress goes to stderr
    assert SOURCE_PASSWORD not in done.stdout + done.stderr


def test_the_command_module_stays_light():
    code = (
        "import sys, snapmigrate.cli.verify; "
        "print(sorted(m for m in ('psycopg', 'boto3') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    assert "verify" in invoke(["--help"]).output


def test_ctrl_c_cancels_the_running_queries_and_exits_130(db: DbPair):
    import signal
    import time

    import psycopg

    holder = psycopg.connect(db.source.dsn(db.name))  # a transaction keeps the lock
    holder.execute("LOCK TABLE app.accounts IN ACCESS EXCLUSIVE MODE")
    src, tgt = db.uris()

    def ours() -> list[tuple]:
        return db.on_source(
            "SELECT wait_event_type FROM pg_stat_activity WHERE application_name = 'snapmigrate'"
            " AND datname = current_database()"
        )

    proc = subprocess.Popen(
        [sys.executable, "-m", "snapmigrate", "verify", "-s", src, "-t", tgt, "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while ("Lock",) not in ours() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ("Lock",) in ours(), "verify never reached the locked table"
        proc.send_signal(signal.SIGINT)
        # a bound, not a speed (the exit takes well under a second)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill() if proc.poll() is None else None
        holder.close()
    assert proc.returncode == 130 and "interrupted" in err
    deadline = time.monotonic() + 5
    while ours() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ours() == []


def test_an_interrupt_during_the_targets_query_stops_the_source_query_it_waits_for(db: DbPair):
    """The race behind a Ctrl-C that once hung: the interrupt lands while the target's half of a
    pair runs, and the source's half waits on a lock that is never released."""
    import threading
    import time

    import psycopg
    from psycopg import sql

    from snapmigrate.db.catalog_sql import Query
    from snapmigrate.db.sessions import Pair, Side

    holder = psycopg.connect(db.source.dsn(db.name))  # a transaction keeps the lock
    holder.execute("LOCK TABLE app.accounts IN ACCESS EXCLUSIVE MODE")
    src, tgt = db.uris()
    pair = Pair(Side("source", psycopg.connect(src)), Side("target", psycopg.connect(tgt)))
    source_pid = pair.source.conn.info.backend_pid

    def source_waits() -> bool:
        rows = db.on_source(
            "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (source_pid,)
        )
        return rows == [("Lock",)]

    def half(side: Side) -> list[tuple]:
        if side is pair.source:
            return side.run(Query(sql.SQL("SELECT count(*) FROM app.accounts")))
        deadline = time.monotonic() + 20
        while not source_waits() and time.monotonic() < deadline:
            time.sleep(0.05)
        raise KeyboardInterrupt  # as Ctrl-C does, in the thread that runs the target's half

    raised: list[BaseException] = []

    def run() -> None:
        try:
            pair.both(half)
        except BaseException as e:  # what both() let through is the result
            raised.append(e)

    thread = threading.Thread(target=run, daemon=True)
    try:
        thread.start()
        thread.join(timeout=30)
        stuck = thread.is_alive()
    finally:
        holder.close()  # releases the lock: a stuck both() ends, so nothing outlives the test
        thread.join(timeout=30)
        pair.close()
        pair.source.conn.close()
        pair.target.conn.close()
    assert not stuck, "both() waited for the source's query instead of cancelling it"
    assert [type(e) for e in raised] == [KeyboardInterrupt]

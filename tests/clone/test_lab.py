"""Every clone command end to end in the lab: real PostgreSQL servers behind the
lab's AWS. The lab's RestoreDBClusterToPointInTime takes a physical copy of the
source when called (a clone of the data as of the request); these tests hold
for a lab with real point-in-time restore too (the source is quiet)."""

from __future__ import annotations

import itertools
import json
import logging
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from snapmigrate import commands
from snapmigrate.errors import BadInput, DifferencesFound
from tests.clone.conftest import RULES, Source
from tests.lab_fixtures import unique_id
from tests.waits import wait_until

pytestmark = pytest.mark.slow


def _rules(tmp_path: Path, text: str = RULES) -> str:
    path = tmp_path / "rules.toml"
    path.write_text(text)
    return str(path)


def test_masked_clone_keeps_no_source_value_and_the_rest_equal(
    clone_source: Source,
    lab_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    name = unique_id("masked")
    config = clone_source.config(tmp_path)
    marks = itertools.cycle(
        ("5ec7e75ec7e75ec7e75ec7e75ec7e7a1", "5ec7e75ec7e75ec7e75ec7e75ec7e7b2")
    )
    real = secrets.token_hex
    monkeypatch.setattr(secrets, "token_hex", lambda n: next(marks) if n == 16 else real(n))
    logger = logging.getLogger("snapmigrate")
    logger.addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG, logger="snapmigrate")
    try:
        result = commands.clone_create(
            config,
            clone_source.cluster_id,
            name,
            mask=_rules(tmp_path),
            settings=clone_source.settings(),
        )
    finally:
        logger.removeHandler(caplog.handler)
    # the per-clone secrets reach no log, journal or result
    written = "".join(f.read_text() for f in (tmp_path / "state").rglob("*") if f.is_file())
    for seen in (written, caplog.text, json.dumps(result.to_dict())):
        assert "5ec7e75ec7e7" not in seen
    assert "people" in written and "mask" in caplog.text
    proof = result.mask["proof"]
    assert proof["clean"] is True
    assert proof["verify"]["passed"] is True
    # no source value survives, computed here independently
    emails = {r[0] for r in clone_source.query("SELECT email FROM public.people")}
    masked = {r[0] for r in clone_source.query("SELECT email FROM public.people", name)}
    assert len(masked) == 3000 and not emails & masked
    names = {r[0] for r in clone_source.query("SELECT name FROM public.people")}
    assert not names & {r[0] for r in clone_source.query("SELECT name FROM public.people", name)}
    # the rest equal: cities and birth dates per row, orders still join their people
    assert clone_source.query("SELECT city, born FROM public.people ORDER BY born") == (
        clone_source.query("SELECT city, born FROM public.people ORDER BY born", name)
    )
    joined = clone_source.query(
        "SELECT count(*) FROM public.orders o JOIN public.people p ON p.id = o.person_id", name
    )
    assert joined == [(6000,)]
    assert clone_source.query("SELECT count(*) FROM public.audit_log", name) == [(0,)]
    # the audit trigger did not copy the old emails anywhere
    assert clone_source.query("SELECT count(*) FROM public.people_audit", name) == [(0,)]
    assert clone_source.query("SELECT count(*) FROM public.audit_log")[0][0] > 0
    commands.clone_destroy(config, name, settings=clone_source.settings())


def test_a_leaking_rule_fails_with_exit_3_and_the_clone_is_destroyed(
    clone_source: Source, lab_env: dict[str, str], tmp_path: Path
) -> None:
    """lower() of lowercase emails changes nothing: the proof counts every row."""
    name = unique_id("leaky")
    leaky = RULES.replace('strategy = "email"', 'strategy = "sql"\nexpression = "lower(email)"')
    with pytest.raises(DifferencesFound, match=r"LEAK: public\.people kept source values in email"):
        commands.clone_create(
            clone_source.config(tmp_path),
            clone_source.cluster_id,
            name,
            mask=_rules(tmp_path, leaky),
            settings=clone_source.settings(),
        )
    assert name not in _clusters(clone_source)
    assert not [i for i in _instances(clone_source) if i.startswith(name)]


def test_bad_rules_are_refused_before_anything_is_created(
    clone_source: Source, lab_env: dict[str, str], tmp_path: Path
) -> None:
    name = unique_id("refused")
    cases = {
        "column 'mail' is not in public.people": RULES.replace(
            '"email"\nstrategy', '"mail"\nstrategy'
        ),
        "strategy email does not fit type date": RULES.replace(
            'column = "email"', 'column = "born"'
        ),
        "NOT NULL and cannot be set to null": RULES.replace(
            'column = "note"\nstrategy = "constant"\nvalue = "redacted"',
            'column = "city"\nstrategy = "null"',
        ),
        "primary key column is masked only with strategy hash": RULES.replace(
            'column = "id"\nstrategy = "hash"', 'column = "id"\nstrategy = "null"'
        ),
        "public.orders.person_id is tied to it": RULES.replace(
            'column = "person_id"\nstrategy = "hash"',
            'column = "amount"\nstrategy = "constant"\nvalue = "1"',
        ),
        "constant does not fit": RULES.replace('value = "redacted"', 'value = "x"').replace(
            'column = "note"', 'column = "born"'
        ),
    }
    before = _clusters(clone_source)
    for message, text in cases.items():
        with pytest.raises(BadInput, match=message):
            commands.clone_create(
                clone_source.config(tmp_path),
                clone_source.cluster_id,
                name,
                mask=_rules(tmp_path, text),
                settings=clone_source.settings(),
            )
    assert _clusters(clone_source) == before


@pytest.mark.parametrize("method", ["snapshot", "pitr"])
def test_create_by_snapshot_and_point_in_time(
    clone_source: Source, lab_env: dict[str, str], tmp_path: Path, method: str
) -> None:
    name = unique_id(method)
    config = clone_source.config(tmp_path)
    snapshot = None
    if method == "snapshot":  # the automated one is of the empty cluster: take one now
        snapshot = f"{name}-manual"
        rds = clone_source.lab.client("rds")
        rds.create_db_cluster_snapshot(
            DBClusterSnapshotIdentifier=snapshot, DBClusterIdentifier=clone_source.cluster_id
        )
        wait_until(f"snapshot {snapshot}", lambda: _snapshot_status(clone_source, snapshot))
    result = commands.clone_create(
        config,
        clone_source.cluster_id,
        name,
        method=method,
        snapshot=snapshot,
        settings=clone_source.settings(),
    )
    assert result.clone.method == method and result.clone.state == "ready"
    assert result.clone.restore_time is not None
    count = "SELECT count(*) FROM public.people"
    assert clone_source.query(count, name) == clone_source.query(count) == [(3000,)]
    tags = _tags(clone_source, name)
    assert tags["snapmigrate:kind"] == "clone" and tags["snapmigrate:final-snapshot"] == "no"
    commands.clone_destroy(config, name, settings=clone_source.settings())
    assert name not in _clusters(clone_source)


def test_reset_brings_back_the_source_data_under_the_same_endpoint_masked_again(
    clone_source: Source, lab_env: dict[str, str], tmp_path: Path
) -> None:
    name = unique_id("reset")
    config = clone_source.config(tmp_path)
    settings = clone_source.settings()
    made = commands.clone_create(
        config, clone_source.cluster_id, name, mask=_rules(tmp_path), settings=settings
    )
    clone_source.query("DELETE FROM public.orders WHERE id > 10", name)
    clone_source.query("UPDATE public.pgbench_accounts SET abalance = 42", name)
    assert clone_source.query("SELECT count(*) FROM public.orders", name) == [(10,)]
    again = commands.clone_reset(config, name, settings=settings)
    assert again.clone.endpoint == made.clone.endpoint
    assert again.clone.expires_at == made.clone.expires_at
    assert again.run_id != made.run_id
    assert again.mask is not None and again.mask["proof"]["clean"] is True
    assert clone_source.query("SELECT count(*) FROM public.orders", name) == [(6000,)]
    balance = "SELECT sum(abalance) FROM public.pgbench_accounts"
    assert clone_source.query(balance, name) == clone_source.query(balance)
    emails = {r[0] for r in clone_source.query("SELECT email FROM public.people")}
    assert not emails & {r[0] for r in clone_source.query("SELECT email FROM public.people", name)}
    commands.clone_destroy(config, name, settings=settings)


def test_destroy_refuses_a_protected_clone_and_what_is_not_a_clone(
    clone_source: Source, lab_env: dict[str, str], tmp_path: Path
) -> None:
    name = unique_id("guarded")
    config = clone_source.config(tmp_path)
    settings = clone_source.settings()
    commands.clone_create(config, clone_source.cluster_id, name, readers=1, settings=settings)
    commands.clone_protect(config, name, "2h")
    before = (_clusters(clone_source), _instances(clone_source))
    with pytest.raises(BadInput, match="protected until"):
        commands.clone_destroy(config, name, settings=settings)
    with pytest.raises(BadInput, match="not a snapmigrate clone"):
        commands.clone_destroy(config, clone_source.cluster_id, settings=settings)
    with pytest.raises(BadInput, match="protected until"):
        commands.clone_reset(config, name, settings=settings)
    assert (_clusters(clone_source), _instances(clone_source)) == before
    commands.clone_unprotect(config, name)
    gone = commands.clone_destroy(config, name, settings=settings)
    assert gone.to_dict() == {"destroyed": [name]}
    assert name not in _clusters(clone_source)
    assert not [i for i in _instances(clone_source) if i.startswith(name)]


def _clusters(source: Source) -> set[str]:
    rds = source.lab.client("rds")
    return {c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]}


def _instances(source: Source) -> set[str]:
    rds = source.lab.client("rds")
    return {i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]}


def _snapshot_status(source: Source, snapshot: str) -> bool:
    rds = source.lab.client("rds")
    found = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=snapshot)
    return bool(found["DBClusterSnapshots"][0]["Status"] == "available")


def _tags(source: Source, name: str) -> dict[str, str]:
    rds = source.lab.client("rds")
    cluster = rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"][0]
    return {t["Key"]: t["Value"] for t in cluster["TagList"]}


def _cli(source: Source, *args: str) -> tuple[int, Any]:
    from click.testing import CliRunner

    from snapmigrate.cli import AppContext, cli

    result = CliRunner().invoke(
        cli, ["-o", "json", *args], obj=AppContext(_clients=source.lab.clients())
    )
    try:
        return result.exit_code, json.loads(result.stdout)
    except ValueError:
        return result.exit_code, result.output


def test_every_command_through_the_cli(
    clone_source: Source, lab_env: dict[str, str], tmp_path: Path
) -> None:
    name = unique_id("cli")
    state = ["--state-dir", str(tmp_path / "state")]
    code, made = _cli(
        clone_source, "clone", "create", clone_source.cluster_id, "--name", name, "--ttl", "2h",
        "--mask", _rules(tmp_path), "--yes", *state,
    )  # fmt: skip
    assert code == 0, made
    assert set(made) == {"clone", "timings", "mask", "run_id"}
    assert set(made["clone"]) >= {
        "name", "source", "method", "restore_time", "endpoint", "port", "database_names",
        "expires_at", "protected_until", "owner",
    }  # fmt: skip
    assert set(made["timings"]) == {
        "accepted_s", "cluster_available_s", "instances_available_s", "first_query_s",
        "masked_s", "total_s",
    }  # fmt: skip
    assert made["mask"]["proof"]["clean"] is True and "app" in made["clone"]["database_names"]
    code, listed = _cli(clone_source, "clone", "list", "--source", clone_source.cluster_id, *state)
    mine = [c for c in listed["clones"] if c["name"] == name]
    assert code == 0 and len(mine) == 1 and mine[0]["status"] == "available"
    assert set(mine[0]) >= {
        "name", "source", "method", "created_at", "expires_at", "protected_until", "owner",
        "status", "endpoint", "age_s",
    }  # fmt: skip
    code, extended = _cli(clone_source, "clone", "extend", name, "--ttl", "3d", *state)
    assert code == 0 and extended["clone"]["expires_at"] > made["clone"]["expires_at"]
    code, guarded = _cli(clone_source, "clone", "protect", name, "--until", "1h", *state)
    assert code == 0 and guarded["clone"]["protected_until"]
    code, out = _cli(clone_source, "clone", "destroy", name, "--yes", *state)
    assert code == 2 and "protected until" in out
    code, out = _cli(clone_source, "clone", "reset", name, "--yes", *state)
    assert code == 2 and "protected until" in out
    code, freed = _cli(clone_source, "clone", "unprotect", name, *state)
    assert code == 0 and freed["clone"]["protected_until"] is None
    code, out = _cli(clone_source, "clone", "reset", name, *state)  # no terminal, no --yes
    assert code == 2 and "pass --yes" in out
    code, again = _cli(clone_source, "clone", "reset", name, "--yes", *state)
    assert code == 0 and again["clone"]["endpoint"] == made["clone"]["endpoint"]
    code, swept = _cli(clone_source, "clone", "gc", "--dry-run", *state)
    assert code == 0 and swept["dry_run"] is True and name not in swept["destroyed"]
    assert any(k["name"] == name and "expires in" in k["why"] for k in swept["kept"])
    code, gone = _cli(clone_source, "clone", "destroy", name, "--yes", *state)
    assert (code, gone) == (0, {"destroyed": [name]})


def test_gc_destroys_only_expired_unprotected_clones(
    clone_source: Source, lab_env: dict[str, str], tmp_path: Path
) -> None:
    """The TTL on an injected clock: nothing is collected before its time."""
    start = datetime.now(UTC)
    clock = [start]
    config = clone_source.config(tmp_path, now=lambda: clock[0])
    settings = clone_source.settings()
    short, guarded, long = unique_id("short"), unique_id("guarded"), unique_id("long")
    for name, ttl in ((short, "1h"), (guarded, "1h"), (long, "2d")):
        commands.clone_create(config, clone_source.cluster_id, name, ttl=ttl, settings=settings)
    commands.clone_protect(config, guarded, "3h")
    clock[0] = start + timedelta(minutes=59)
    early = commands.clone_gc(config, settings=settings)
    assert not set(early.destroyed) & {short, guarded, long}
    clock[0] = start + timedelta(minutes=61)
    swept = commands.clone_gc(config, settings=settings)
    assert short in swept.destroyed and not {guarded, long} & set(swept.destroyed)
    why = {k.name: k.why for k in swept.kept}
    assert why[guarded].startswith("protected until") and why[long].startswith("expires in")
    left = _clusters(clone_source)
    assert short not in left and {guarded, long} <= left
    clock[0] = start + timedelta(days=3)
    assert {guarded, long} <= set(commands.clone_gc(config, settings=settings).destroyed)
    assert not {short, guarded, long} & _clusters(clone_source)

"""--catch-up logical in the lab, end to end: an application writes the whole
time, the source is never frozen before the cutover, nothing committed is lost,
any failure after the freeze rolls back and the catch-up goes on, and nothing
-- no slot, publication or subscription -- is left behind."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from snapmigrate import commands, loadgen
from snapmigrate.cli import AppContext, cli
from snapmigrate.commands import Config
from snapmigrate.cutover import Cutover, CutoverOptions
from snapmigrate.db import freeze as fz
from snapmigrate.db.connect import from_cluster
from snapmigrate.errors import DifferencesFound, PreflightBlocked
from snapmigrate.migrate.catchup import status_of
from tests.catchup.conftest import (
    Run,
    Source,
    clusters,
    identities,
    left_behind,
    migrate,
    seed_source,
    sql,
)

pytestmark = pytest.mark.slow


def cutover(run: Run) -> Cutover:
    lab = run.source.lab
    return Cutover(lab.clients(), run.journal, connect_map=str(lab.connect_map_path))


def dns(source: Source) -> CutoverOptions:
    return CutoverOptions(mode="dns", zone_id=source.zone_id, record_name=source.record)


def status(run: Run) -> Any:
    lab = run.source.lab
    config = Config.from_options(
        state_dir=str(run.journal.directory),
        connect_map=str(lab.connect_map_path),
        clients=lab.clients(),
    )
    return commands.status(config, run.run_id)


def frozen(source: Source, cluster_id: str) -> bool:
    endpoint = from_cluster(source.lab.clients(), cluster_id, "x")
    return fz.is_frozen(endpoint, "app", connect_map=source.connect_map)


def test_a_catch_up_cutover_under_load_loses_nothing_and_leaves_nothing(
    lab: Any, lab_env: dict[str, str], tmp_path: Path
):
    """The source is prepared outside snapmigrate (recognised); the application
    writes through the DNS record from before the migration to after the cutover,
    and never sees an error until the cutover's freeze."""
    source = seed_source(lab)
    load = source.load()
    time.sleep(0.5)
    run = migrate(source, tmp_path, readers=1)
    assert load.result.errors == 0, load.result.error_samples  # never frozen, never refused
    args = ["-o", "json", "--connect-map", str(lab.connect_map_path), "status", run.run_id]
    shown = CliRunner().invoke(
        cli,
        [*args, "--state-dir", str(run.journal.directory)],
        obj=AppContext(_clients=lab.clients()),
    )
    assert shown.exit_code == 0, shown.output
    measured = json.loads(shown.stdout)["catch_up"]
    assert measured["state"] == "streaming", measured
    assert measured["retained_wal_bytes"] > 0 and measured["lag_bytes"] >= 0
    assert measured["lag_s"] is not None
    before_cutover = len(load.result.committed)

    result = cutover(run).run(run.run_id, dns(source))
    time.sleep(0.5)
    seen = load.stop_and_collect()
    check = loadgen.check_committed(
        source.app(), "app", seen.committed, connect_map=source.connect_map
    )
    data = result.to_dict()
    assert data["state"] == "done", data["error"]
    assert check.lost == 0 and check.committed > before_cutover > 0
    assert [p["name"] for p in data["phases"]] == [
        "guardrails", "freeze", "drain", "sequences", "verify-changes", "swap", "prove",
        "end-catch-up",
    ]  # fmt: skip
    assert data["unavailable_s"] < 5
    catch_up = data["catch_up"]
    # only what changed since the verification before the freeze was verified again
    assert {(t["schema"], t["table"]) for t in catch_up["verified"]} == {
        ("public", "snapmigrate_load")
    }
    assert catch_up["sequences"] == 2 and "source_counters" not in catch_up
    # the sequences were set from the source: the next value does not collide
    assert sql(lab, run.target, "SELECT last_value FROM public.order_number") == [(4242,)]
    assert left_behind(lab, run.run_id, source.cluster_id, run.target) == []
    after = status_of(status(run))
    assert after is not None and after.state == "ended" and after.reason == "cut over"


def test_prepare_source_full_identity_rename_rollback_and_cleanup(
    lab: Any, lab_env: dict[str, str], tmp_path: Path
):
    """--prepare-source gives the source its own group and reboots its writer;
    --replica-identity-full fixes the keyless tables; a rename cutover and its
    rollback; cleanup puts the identities back and keeps the group in place."""
    source = seed_source(lab, prepared=False)
    assert sql(lab, source.cluster_id, "SHOW wal_level") == [("replica",)]
    run = migrate(source, tmp_path, prepare_source=True, replica_identity_full=True)
    rds = lab.client("rds")
    group = rds.describe_db_clusters(DBClusterIdentifier=source.cluster_id)["DBClusters"][0][
        "DBClusterParameterGroup"
    ]
    assert group == f"{source.cluster_id}-logical-{run.run_id}"
    assert sql(lab, source.cluster_id, "SHOW wal_level") == [("logical",)]
    assert set(identities(lab, source.cluster_id).values()) == {"f"}

    load = loadgen.LoadRun(
        source.app(source.endpoint),
        "app",
        loadgen.LoadOptions(workers=2, rate_per_worker=40),
        connect_map=source.connect_map,
    ).start()
    time.sleep(0.5)
    result = cutover(run).run(run.run_id, CutoverOptions(mode="rename"))
    time.sleep(0.5)
    seen = load.stop_and_collect()
    assert result.to_dict()["state"] == "done", result.to_dict()["error"]
    check = loadgen.check_committed(
        source.app(source.endpoint), "app", seen.committed, connect_map=source.connect_map
    )
    assert check.lost == 0
    old = f"{source.cluster_id}-old-{run.run_id}"
    assert left_behind(lab, run.run_id, old, source.cluster_id) == []

    back = cutover(run).rollback(run.run_id)
    assert back.record.cutover["state"] == "rolled-back"
    assert not frozen(source, source.cluster_id)
    commands.cleanup(
        Config.from_options(state_dir=str(run.journal.directory), clients=lab.clients()),
        run.run_id,
    )
    assert run.target not in clusters(lab)
    assert set(identities(lab, source.cluster_id).values()) == {"d"}  # as before the run
    group_now = rds.describe_db_clusters(DBClusterIdentifier=source.cluster_id)["DBClusters"][0]
    assert group_now["DBClusterParameterGroup"] == group  # kept: taking it away is a reboot
    assert left_behind(lab, run.run_id, source.cluster_id) == []


def test_a_failure_after_the_freeze_rolls_back_and_the_catch_up_goes_on(
    lab: Any, lab_env: dict[str, str], tmp_path: Path
):
    """A difference the catch-up cannot explain (a row changed on the copy) fails
    the verification inside the freeze: rolled back, the source writable, the
    catch-up still streaming; once fixed, the cutover is tried again and passes."""
    source = seed_source(lab)
    run = migrate(source, tmp_path)
    sql(lab, run.target, "UPDATE public.type_zoo SET label = 'planted' WHERE id = 7")
    with pytest.raises(DifferencesFound, match="final verification failed"):
        cutover(run).run(run.run_id, dns(source))
    state = run.journal.load(run.run_id).cutover
    assert state["state"] == "rolled-back"
    assert not frozen(source, source.cluster_id)
    measured = status_of(status(run))
    assert measured is not None and measured.state == "streaming"
    assert len(left_behind(lab, run.run_id, source.cluster_id)) == 4  # a slot, a publication a db
    sql(lab, source.cluster_id, "UPDATE public.type_zoo SET flag = NOT flag WHERE id = 8")

    # the seed's label of row 7 (type_zoo: 1 + 7 % 5 -> the third)
    sql(lab, run.target, "UPDATE public.type_zoo SET label = 'emoji 🐘 #7' WHERE id = 7")
    result = cutover(run).run(run.run_id, dns(source))
    assert result.to_dict()["state"] == "done", result.to_dict()["error"]
    assert sql(lab, run.target, "SELECT flag FROM public.type_zoo WHERE id = 8") == sql(
        lab, source.cluster_id, "SELECT flag FROM public.type_zoo WHERE id = 8"
    )
    assert left_behind(lab, run.run_id, source.cluster_id, run.target) == []


def test_ddl_blocks_the_cutover_and_the_threshold_ends_the_catch_up(
    lab: Any, lab_env: dict[str, str], tmp_path: Path
):
    """A table created after the migration blocks the cutover, nothing changed;
    slots holding more WAL than allowed are dropped by status, and the cutover
    then refuses; cleanup leaves nothing."""
    source = seed_source(lab)
    run = migrate(source, tmp_path, max_retained_wal_gb=0.01)
    sql(lab, source.cluster_id, "CREATE TABLE public.late (id int PRIMARY KEY)")
    with pytest.raises(PreflightBlocked, match="logical replication carries no DDL"):
        cutover(run).run(run.run_id, dns(source))
    assert not frozen(source, source.cluster_id)
    sql(lab, source.cluster_id, "DROP TABLE public.late")

    sql(lab, run.target, f"ALTER SUBSCRIPTION snapmigrate_{run.run_id}_1 DISABLE")
    # Each switch ends a WAL segment (the lab's are 1 MiB): twice the threshold's worth of
    # segments is held for the disabled subscriber's slot.
    size = "SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size'"
    ((segment,),) = sql(lab, source.cluster_id, size)
    for n in range(2 * int(0.01 * 2**30) // segment + 2):
        sql(lab, source.cluster_id, f"INSERT INTO public.pgbench_history VALUES (1, 1, {n}, 0)")
        sql(lab, source.cluster_id, "SELECT pg_switch_wal()")
    measured = status_of(status(run))
    assert measured is not None and measured.state == "aborted", measured
    assert "--max-retained-wal-gb" in (measured.reason or "")
    assert left_behind(lab, run.run_id, source.cluster_id, run.target) == []
    with pytest.raises(PreflightBlocked, match="the catch-up ended"):
        cutover(run).run(run.run_id, dns(source))
    commands.cleanup(
        Config.from_options(state_dir=str(run.journal.directory), clients=lab.clients()),
        run.run_id,
    )
    assert left_behind(lab, run.run_id, source.cluster_id) == []

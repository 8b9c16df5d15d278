"""Kill a catch-up migration or cutover (a real process, ``os._exit``) at every
step and inside the steps that create slots, publications and subscriptions;
then resume, roll back or clean up: it converges, and no slot, publication or
subscription of the run is left anywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from snapmigrate import commands
from snapmigrate.commands import Config
from snapmigrate.cutover import Cutover
from snapmigrate.migrate.runner import Runner
from snapmigrate.workflow.journal import Journal
from tests.catchup.conftest import (
    Source,
    clusters,
    identities,
    left_behind,
    migrate,
    plan_for,
    seed_source,
    settings,
    sql,
)
from tests.catchup.test_catchup import dns, frozen
from tests.lab_fixtures import unique_id

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
MIGRATE_POINTS = [
    "started:publication",
    "after:set_replica_identity",
    "after:create_slot",
    "finished:publication",
    "started:snapshot",
    "started:subscription",
    "after:create_subscription",
    "after:enable",
    "applied:subscription",
]
CUTOVER_POINTS = [
    "finished:guardrails",
    "started:freeze",
    "started:drain",
    "started:sequences",
    "started:verify-changes",
    "started:swap",
    "finished:swap",
    "started:prove",
    "started:end-catch-up",
    "after:drop_subscription",
]


def crash(lab: Any, env: dict[str, str], state_dir: Path, *args: str) -> None:
    argv = [sys.executable, "-m", "tests.catchup.crasher", str(lab.dir), str(state_dir), *args]
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 9, f"{args}: {done.returncode} {done.stderr[-3000:]}"


def config(lab: Any, state_dir: Path) -> Config:
    return Config.from_options(
        state_dir=str(state_dir), connect_map=str(lab.connect_map_path), clients=lab.clients()
    )


def only_run(state_dir: Path) -> str:
    [found] = [p.stem for p in state_dir.glob("*.json")]
    return found


def test_crash_at_every_migration_step_then_resume_or_clean_up(
    lab: Any, lab_env: dict[str, str], tmp_path: Path
):
    source = seed_source(lab, full_identity=False)
    env = {**os.environ, **lab_env}
    failures = []
    for n, point in enumerate(MIGRATE_POINTS):
        target = unique_id(f"{source.cluster_id}-c")
        plan = plan_for(source, target, replica_identity_full=True)
        plan_file = tmp_path / f"{target}.json"
        plan_file.write_text(json.dumps(plan.to_dict()))
        state_dir = tmp_path / f"state-{target}"
        crash(lab, env, state_dir, "migrate", str(plan_file), point)
        run_id = only_run(state_dir)
        if n % 2 == 0:  # resume: the run finishes as if nothing happened
            result = Runner(lab.clients(), Journal(state_dir), settings=settings(lab)).resume(
                run_id
            )
            if result.record.state != "done":
                failures.append(f"{point}: resumed run {result.record.state}")
            elif sql(lab, target, "SELECT count(*) FROM public.type_zoo") != [(2000,)]:
                failures.append(f"{point}: the copy lacks its data")
        commands.cleanup(config(lab, state_dir), run_id)
        left = left_behind(lab, run_id, source.cluster_id, target)
        if left:
            failures.append(f"{point}: left {left}")
        if target in clusters(lab):
            failures.append(f"{point}: {target} is still there")
        if set(identities(lab, source.cluster_id).values()) != {"d"}:
            failures.append(f"{point}: replica identities {identities(lab, source.cluster_id)}")
    assert failures == []


def test_crash_right_after_the_reboot_of_prepare_source(
    lab: Any, lab_env: dict[str, str], tmp_path: Path
):
    source = seed_source(lab, prepared=False, full_identity=True)
    target = unique_id(f"{source.cluster_id}-c")
    plan = plan_for(source, target, prepare_source=True)
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan.to_dict()))
    state_dir = tmp_path / "state"
    crash(
        lab,
        {**os.environ, **lab_env},
        state_dir,
        "migrate",
        str(plan_file),
        "after:RebootDBInstance",
    )
    run_id = only_run(state_dir)
    result = Runner(lab.clients(), Journal(state_dir), settings=settings(lab)).resume(run_id)
    assert result.record.state == "done", result.record.error
    assert sql(lab, source.cluster_id, "SHOW wal_level") == [("logical",)]
    commands.cleanup(config(lab, state_dir), run_id)
    assert left_behind(lab, run_id, source.cluster_id, target) == []


def test_crash_at_every_cutover_phase_then_resume_or_roll_back(
    lab: Any, lab_env: dict[str, str], tmp_path: Path
):
    source = seed_source(lab)
    env = {**os.environ, **lab_env}
    failures = []
    for n, point in enumerate(CUTOVER_POINTS):
        run = migrate(source, tmp_path)
        state_dir = run.journal.directory
        crash(lab, env, state_dir, "cutover", run.run_id, point, source.zone_id, source.record)
        cut = Cutover(lab.clients(), run.journal, connect_map=str(lab.connect_map_path))
        if n % 2 == 0:  # resume: cut over, then back for the next round
            result = cut.run(run.run_id, dns(source))
            if result.record.cutover.get("state") != "done":
                failures.append(f"{point}: resumed cutover {result.record.cutover.get('error')}")
        back = cut.rollback(run.run_id)
        if back.record.cutover.get("state") != "rolled-back":
            failures.append(f"{point}: rollback {back.record.cutover.get('state')}")
        if frozen(source, source.cluster_id):
            failures.append(f"{point}: the source is still frozen")
        left = left_behind(lab, run.run_id, source.cluster_id, run.target)
        if left:
            failures.append(f"{point}: left {left}")
        _record_points_at_source(source, failures, point)
    assert failures == []


def _record_points_at_source(source: Source, failures: list[str], point: str) -> None:
    r53 = source.lab.client("route53")
    sets = r53.list_resource_record_sets(HostedZoneId=source.zone_id)["ResourceRecordSets"]
    value = next(r["ResourceRecords"][0]["Value"] for r in sets if r["Type"] == "CNAME")
    if value.rstrip(".") != source.endpoint:
        failures.append(f"{point}: {source.record} points at {value}")

"""``drill run``: read the recovery point, declare the incident (t0), restore it
as a clone declared disposable (the clone's steps: Serverless v2, a db.serverless
writer, SELECT 1), a canary transaction through the cluster endpoint (= RTO),
the heartbeat (data RPO), ``--inject``, the checks, then the teardown -- which
also runs after any failure or Ctrl-C, so nothing is left behind.

The copy is a clone (``snapmigrate:kind=clone``, ``final-snapshot=no``, an
expiry: ``--keep`` or a day) tagged ``snapmigrate:drill=<id>``: ``clone list``
shows it and ``clone gc`` sweeps it once expired, whatever became of the drill.
A restore creates no instance: the clone's steps create the writer.
https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_RestoreDBClusterFromSnapshot.html
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from snapmigrate.aws import rds
from snapmigrate.clone.context import CloneBasis
from snapmigrate.clone.options import CloneOptions
from snapmigrate.clone.runner import ClonePlan, CloneRunner
from snapmigrate.clone.spec import CloneSpec, fail_if_blocked
from snapmigrate.clone.workflow import CLONE
from snapmigrate.connectmap import ConnectMap
from snapmigrate.db.connect import Endpoint, from_cluster
from snapmigrate.db.drill import canary, newest_beat
from snapmigrate.drill import evidence, inject, region
from snapmigrate.drill.checks import run_checks, sql_checks
from snapmigrate.drill.draft import Clock, Draft, iso_ms
from snapmigrate.drill.options import DrillOptions
from snapmigrate.drill.recovery import RecoveryPoint, read_point, stale_point
from snapmigrate.drill.result import Check, DrillResult, Phase, TornDown
from snapmigrate.drill.teardown import TAG_DRILL, copy_snapshot_name, teardown
from snapmigrate.errors import BadInput, Interrupted, SnapmigrateError
from snapmigrate.model import KIND_CLONE, TAG_FINAL_SNAPSHOT, TAG_KIND
from snapmigrate.progress import Status
from snapmigrate.workflow.journal import new_run_id

log = logging.getLogger(__name__)

#: A drill's copy expires after this unless ``--keep`` says otherwise (``clone gc``).
DEFAULT_EXPIRY = timedelta(days=1)
Confirm = Callable[[str], bool]


def copy_name(source: str, drill_id: str) -> str:
    """``<source>-drill-<id>``: within the clone's name limit (its instances' 63)."""
    return f"{source[:38].rstrip('-')}-drill-{drill_id}"


class DrillRunner:
    """One drill: the clone runner makes and destroys the copy; this measures and judges."""

    def __init__(
        self, clones: CloneRunner, state_dir: str | None, target: CloneRunner | None = None
    ) -> None:
        self.clones = clones  # the source's region: the recovery point, the plan
        self.target = target or clones  # where the copy is made (--to-region)
        self.state_dir = state_dir
        self.cmap = ConnectMap.load(clones.settings.connect_map)

    def plan(self, options: DrillOptions, drill_id: str) -> tuple[ClonePlan, RecoveryPoint, str]:
        """The recovery point (read before t0) and the copy's plan; exit 2/4 before any change."""
        aws = self.clones.aws
        point = read_point(aws, options.source, options.recovery, self.clones.now())
        if options.inject == "stale-snapshot":
            assert options.rpo_target is not None  # checked with the options
            point = stale_point(aws, options.source, point, options.rpo_target, self.clones.now())
        if self.target is not self.clones and point.snapshot is not None:
            region.check_encryption(point.snapshot, point.encrypted, options.kms_key, self.region)
        name = copy_name(options.source, drill_id)
        clone = CloneOptions(
            source=options.source,
            name=name,
            method=point.method,
            snapshot=point.snapshot,
            restore_time=point.time if point.snapshot is None else None,
            latest=False,
            ttl=options.keep or DEFAULT_EXPIRY,
        )
        shown, basis, _ = self.clones.plan(clone, None, keep={TAG_DRILL: drill_id})
        fail_if_blocked(shown.findings)
        return shown, point, basis.owner or ""

    def run(
        self, options: DrillOptions, flags: Mapping[str, Any], *, confirm: Confirm | None = None
    ) -> DrillResult:
        """Plan, ask, declare t0, drill; ``flags`` (the options as given) are kept in the
        drill's record for ``--resume``."""
        drill_id = new_run_id()
        clock = Clock(self.clones.waiter.clock, self.clones.now)
        began = self.clones.now()
        shown, point, caller = self.plan(options, drill_id)
        question = (
            f"Drill {options.source}: restore {point.describe()} as {shown.spec.name} "
            "(Serverless v2), check it, then delete it without a final snapshot"
            + (f" after {options.keep}" if options.keep else "")
            + "?"
        )
        if confirm is not None and not confirm(question):
            raise BadInput("no drill: nothing was changed")
        clock.start()
        assert clock.t0_wall is not None
        read_s = (clock.t0_wall - began).total_seconds()
        clock.phases.append(Phase("recovery-point", iso_ms(began), clock.wall(0), read_s))
        record = {
            "id": drill_id, "source": options.source, "cluster": shown.spec.name,
            "t0": clock.wall(0), "began": iso_ms(began), "state": "running",
            "flags": dict(flags), "caller": caller, "spec": shown.spec.to_dict(),
            "point": {"choice": point.choice, "time": point.time.isoformat(),
                      "snapshot": point.snapshot, "snapshot_type": point.snapshot_type},
        }  # fmt: skip
        draft = Draft(drill_id, options, point, shown.spec.name, clock, caller, self.region)
        with evidence.locked(self.state_dir, drill_id):
            return self._execute(shown, options, draft, record)

    @property
    def region(self) -> str:
        return self.target.aws.region

    def resume(self, options: DrillOptions, record: Mapping[str, Any]) -> DrillResult:
        """Finish a drill whose process died: the same copy, t0 and recovery point (its RTO
        counts the time lost); the clone's steps see what AWS already holds."""
        drill_id = str(record["id"])
        with evidence.locked(self.state_dir, drill_id):
            record = evidence.load_record(self.state_dir, drill_id)
            if record.get("state") != "running":
                raise BadInput(
                    f"drill {drill_id} is {record.get('state')}: nothing to resume (see "
                    "'snapmigrate drill history')"
                )
            seen = record["point"]
            point = RecoveryPoint(seen["choice"], datetime.fromisoformat(seen["time"]),
                                  seen.get("snapshot"), seen.get("snapshot_type"))  # fmt: skip
            spec = CloneSpec.from_dict(record["spec"])
            shown = ClonePlan(spec, (), CLONE.plan(CloneBasis(spec)))
            clock = Clock(self.clones.waiter.clock, self.clones.now)
            clock.restart(datetime.fromisoformat(str(record["t0"])))
            assert clock.t0_wall is not None
            began = datetime.fromisoformat(str(record["began"]))
            lost = datetime.fromisoformat(str(record.get("marked") or record["t0"]))
            clock.phases += [
                Phase("recovery-point", iso_ms(began), iso_ms(clock.t0_wall),
                      (clock.t0_wall - began).total_seconds()),
                Phase("interrupted", iso_ms(lost), iso_ms(self.clones.now()),
                      (self.clones.now() - lost).total_seconds()),
            ]  # fmt: skip
            log.info("resuming drill %s of %s (t0 %s)", drill_id, options.source, record["t0"])
            caller = str(record.get("caller") or "")
            draft = Draft(drill_id, options, point, spec.name, clock, caller, self.region)
            return self._execute(shown, options, draft, dict(record))

    def _mark(self, record: dict[str, Any], phase: str) -> None:
        """The drill's record says which phase it is in (a crash is resumed from it)."""
        record.update(phase=phase, marked=iso_ms(self.clones.now()))
        evidence.save_record(self.state_dir, record)

    def _execute(
        self, shown: ClonePlan, options: DrillOptions, draft: Draft, record: dict[str, Any]
    ) -> DrillResult:
        """Copy (another region), restore, measure, check; tear down whatever happens."""
        clock = draft.clock
        try:
            if record.get("phase") == "teardown" and record.get("measured"):
                draft.restore(record["measured"])  # died in its teardown: finish that
            else:
                if self.target is not self.clones:
                    self._mark(record, "copy")
                    shown = self._copy(shown, options, draft.point, draft)
                draft = self._drill(shown, options, draft, record)
        except BaseException as e:
            self._mark(record, "teardown")
            torn = self._teardown(shown, keep=False)
            record.update(state="failed", error=str(e) or type(e).__name__)
            evidence.save_record(self.state_dir, record)
            failed = draft.result(torn, error=str(e) or type(e).__name__)
            evidence.append(self.state_dir, failed.to_dict())
            if isinstance(e, KeyboardInterrupt):
                raise Interrupted(f"drill {draft.id} interrupted: its copy was torn down") from None
            raise
        began = clock.since_t0()
        record["measured"] = draft.measured()
        self._mark(record, "teardown")
        torn = self._teardown(shown, keep=options.keep is not None)
        clock.phase("teardown", began)
        result = draft.result(torn)
        record.update(state="done", passed=result.passed)
        evidence.save_record(self.state_dir, record)
        evidence.append(self.state_dir, result.to_dict())
        return result

    def _copy(
        self, shown: ClonePlan, options: DrillOptions, point: RecoveryPoint, draft: Draft
    ) -> ClonePlan:
        """The snapshot copied into the target region; the plan restores the copy there
        (with that region's default subnet and security groups)."""
        began = draft.clock.since_t0()
        assert point.snapshot is not None
        found = rds.find_snapshot(self.clones.aws, point.snapshot) or {}
        target = self.target
        copied = region.copy_snapshot(
            target.aws,
            target.waiter,
            target.settings.policy(30),
            source_arn=str(found.get("DBClusterSnapshotArn") or point.snapshot),
            source_region=self.clones.aws.region,
            target=copy_snapshot_name(shown.spec.name),
            kms_key=options.kms_key,
            tags={TAG_DRILL: draft.id, TAG_KIND: KIND_CLONE, TAG_FINAL_SNAPSHOT: "no"},
        )
        draft.clock.phase("copy", began)
        spec = replace(
            shown.spec,
            snapshot=copied["DBClusterSnapshotIdentifier"],
            subnet_group=None,
            security_group_ids=(),
        )
        return replace(shown, spec=spec, steps=CLONE.plan(CloneBasis(spec)))

    def _drill(
        self, shown: ClonePlan, options: DrillOptions, draft: Draft, record: dict[str, Any]
    ) -> Draft:
        clock = draft.clock
        applied = clock.since_t0()
        self._mark(record, "restore")
        made = self.target.apply(shown, None, None)
        t = made.timings
        available = applied + (t.cluster_available_s or 0.0)
        ready = applied + (t.first_query_s or t.instances_available_s or 0.0)
        clock.phase("restore", applied, available)
        clock.phase("writer", available, ready)
        copy = from_cluster(self.target.aws, draft.cluster, "drill copy")
        self._mark(record, "canary")
        self._canary(copy, options.database)
        draft.rto_s = clock.since_t0()
        clock.phase("canary", ready, draft.rto_s)
        if options.heartbeat is not None:
            draft.beat_check = self._heartbeat(copy, options, draft)
        if options.inject in ("corrupt-row", "missing-table"):
            self._mark(record, "inject")
            began = clock.since_t0()
            source = self.endpoint(options.source, "source")
            draft.injected = inject.damage(
                options.inject, source, copy, draft.baseline, options, self.cmap
            )
            clock.phase("inject", began)
        elif options.inject:
            draft.injected = f"stale-snapshot: restored {draft.point.describe()}"
        began = clock.since_t0()
        self._mark(record, "checks")
        source = self.endpoint(options.source, "source")
        checks = run_checks(
            source, copy, options.checks, base=draft.baseline, connect_map=self.cmap
        )
        checks += sql_checks(copy, options.database, options.sql_files, connect_map=self.cmap)
        draft.checks = ((draft.beat_check,) if draft.beat_check else ()) + checks
        clock.phase("checks", began)
        return draft

    def endpoint(self, cluster_id: str, label: str) -> Endpoint:
        return from_cluster(self.clones.aws, cluster_id, label)

    def _canary(self, copy: Endpoint, database: str) -> None:
        label = f"canary on {copy.cluster_id}"
        last: list[str] = []

        def poll() -> dict[str, Status]:
            try:
                canary(copy, database, connect_map=self.cmap)
            except SnapmigrateError as e:
                last[:] = [str(e)]
                return {label: Status("not yet")}
            return {label: Status("committed", done=True)}

        self.target.waiter.wait(label, poll, self.target.settings.policy(5), labels=(label,))

    def _heartbeat(self, copy: Endpoint, options: DrillOptions, draft: Draft) -> Check | None:
        assert options.heartbeat is not None
        hb = options.heartbeat
        beat = newest_beat(copy, options.database, hb.schema, hb.name, connect_map=self.cmap)
        where = f"{options.database} {hb.schema}.{hb.name}"
        if beat is None:
            return Check("heartbeat", False, f"no beat in the copy's {where}")
        assert draft.clock.t0_wall is not None
        draft.rpo_data_s = (draft.clock.t0_wall - beat.at).total_seconds()
        draft.baseline = beat.counters
        return Check("heartbeat", True, f"newest beat {iso_ms(beat.at)} in {where}")

    def _teardown(self, shown: ClonePlan, *, keep: bool) -> tuple[TornDown, ...]:
        copied = copy_snapshot_name(shown.spec.name) if self.target is not self.clones else None
        return teardown(self.target, shown.spec, keep=keep, region_copy=copied)


__all__ = ["DrillRunner", "copy_name"]

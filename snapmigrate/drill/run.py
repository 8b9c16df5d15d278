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

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from snapmigrate import __version__
from snapmigrate.aws import rds
from snapmigrate.clone import destroy
from snapmigrate.clone.context import CloneBasis
from snapmigrate.clone.journal import mark_gone
from snapmigrate.clone.options import CloneOptions
from snapmigrate.clone.runner import ClonePlan, CloneRunner
from snapmigrate.clone.spec import fail_if_blocked
from snapmigrate.clone.workflow import CLONE
from snapmigrate.connectmap import ConnectMap
from snapmigrate.db.connect import Endpoint, from_cluster
from snapmigrate.db.drill import canary, newest_beat
from snapmigrate.db.stats import WriteCounters
from snapmigrate.drill import evidence, inject, region
from snapmigrate.drill.checks import run_checks, sql_checks
from snapmigrate.drill.options import DrillOptions
from snapmigrate.drill.recovery import RecoveryPoint, read_point, stale_point
from snapmigrate.drill.result import Check, DrillResult, Phase, Targets, TornDown
from snapmigrate.errors import BadInput, Interrupted, SnapmigrateError
from snapmigrate.model import KIND_CLONE, TAG_FINAL_SNAPSHOT, TAG_KIND
from snapmigrate.progress import Status
from snapmigrate.workflow.journal import new_run_id

log = logging.getLogger(__name__)

TAG_DRILL = "snapmigrate:drill"
#: A drill's copy expires after this unless ``--keep`` says otherwise (``clone gc``).
DEFAULT_EXPIRY = timedelta(days=1)
Confirm = Callable[[str], bool]


@dataclass
class Clock:
    """t0 and the phases: wall time (ISO) and the monotonic seconds since t0."""

    runner: CloneRunner
    t0_wall: datetime | None = None
    t0_mono: float = 0.0
    phases: list[Phase] = field(default_factory=list)

    def mono(self) -> float:
        return self.runner.waiter.clock.monotonic()

    def start(self) -> None:
        self.t0_wall, self.t0_mono = self.runner.now(), self.mono()

    def since_t0(self) -> float:
        return self.mono() - self.t0_mono

    def wall(self, since_t0: float) -> str:
        assert self.t0_wall is not None
        return iso_ms(self.t0_wall + timedelta(seconds=since_t0))

    def phase(self, name: str, began: float, ended: float | None = None) -> None:
        end = self.since_t0() if ended is None else ended
        self.phases.append(Phase(name, self.wall(began), self.wall(end), end - began))


def iso_ms(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds")


def copy_snapshot_name(cluster: str) -> str:
    """The snapshot copied into the target region, named after the copy it restores."""
    return f"{cluster}-snap"


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
            point = stale_point(aws, options.source, point)
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

    def run(self, options: DrillOptions, *, confirm: Confirm | None = None) -> DrillResult:
        drill_id = new_run_id()
        clock = Clock(self.clones)
        began = self.clones.now()
        shown, point, caller = self.plan(options, drill_id)
        name = shown.spec.name
        question = (
            f"Drill {options.source}: restore {point.describe()} as {name} (Serverless v2), "
            f"check it, then delete it without a final snapshot"
            + (f" after {options.keep}" if options.keep else "")
            + "?"
        )
        if confirm is not None and not confirm(question):
            raise BadInput("no drill: nothing was changed")
        clock.start()
        read_s = (clock.t0_wall - began).total_seconds() if clock.t0_wall else 0.0
        clock.phases.append(Phase("recovery-point", iso_ms(began), clock.wall(0), read_s))
        record = {"id": drill_id, "source": options.source, "cluster": name,
                  "run_id": shown.spec.run_id, "t0": clock.wall(0), "state": "running"}  # fmt: skip
        evidence.save_record(self.state_dir, record)
        draft = Draft(drill_id, options, point, name, clock, caller, self.target.aws.region)
        try:
            if self.target is not self.clones:
                shown = self._copy(shown, options, point, draft)
            draft = self._drill(shown, options, draft)
        except BaseException as e:
            torn = self._teardown(shown, keep=False)
            evidence.save_record(self.state_dir, {**record, "state": "failed", "error": str(e)})
            failed = draft.result(torn, error=str(e) or type(e).__name__)
            evidence.append(self.state_dir, failed.to_dict())
            if isinstance(e, KeyboardInterrupt):
                raise Interrupted(f"drill {drill_id} interrupted: its copy was torn down") from None
            raise
        began_td = clock.since_t0()
        torn = self._teardown(shown, keep=options.keep is not None)
        clock.phase("teardown", began_td)
        result = draft.result(torn)
        evidence.save_record(self.state_dir, {**record, "state": "done", "passed": result.passed})
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

    def _drill(self, shown: ClonePlan, options: DrillOptions, draft: Draft) -> Draft:
        clock = draft.clock
        applied = clock.since_t0()
        made = self.target.apply(shown, None, None)
        t = made.timings
        available = applied + (t.cluster_available_s or 0.0)
        ready = applied + (t.first_query_s or t.instances_available_s or 0.0)
        clock.phase("restore", applied, available)
        clock.phase("writer", available, ready)
        copy = from_cluster(self.target.aws, draft.cluster, "drill copy")
        self._canary(copy, options.database)
        draft.rto_s = clock.since_t0()
        clock.phase("canary", ready, draft.rto_s)
        if options.heartbeat is not None:
            draft.beat_check = self._heartbeat(copy, options, draft)
        if options.inject in ("corrupt-row", "missing-table"):
            began = clock.since_t0()
            source = self.endpoint(options.source, "source")
            draft.injected = inject.damage(
                options.inject, source, copy, draft.baseline, options, self.cmap
            )
            clock.phase("inject", began)
        elif options.inject:
            draft.injected = f"stale-snapshot: restored {draft.point.describe()}"
        began = clock.since_t0()
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
        """Delete the copy (no final snapshot: disposable) or keep it until its expiry."""
        spec = shown.spec
        runner = self.target
        aws = runner.aws
        if keep:
            expires = spec.tags.get("snapmigrate:expires-at", "?")
            return (TornDown("cluster", spec.name, f"kept until {expires} (clone gc)"),)
        copied: tuple[TornDown, ...] = ()
        try:
            doomed = destroy.check(aws, [spec.name], runner.now(), run_id=spec.run_id)
            gone = destroy.destroy(aws, doomed, runner.waiter, runner.settings, stamp=runner.stamp)
            if runner is not self.clones:
                snap = region.delete_copy(
                    aws, copy_snapshot_name(spec.name), (TAG_DRILL, spec.tags[TAG_DRILL])
                )
                copied = (TornDown("snapshot", snap, "deleted (the region copy)"),) if snap else ()
        except (SnapmigrateError, KeyboardInterrupt) as e:
            log.error("drill copy %s not torn down: %s -- 'snapmigrate clone destroy %s --yes'",
                      spec.name, e, spec.name)  # fmt: skip
            return (TornDown("cluster", spec.name, f"left: {e}"),)
        with contextlib.suppress(SnapmigrateError, OSError):
            mark_gone(runner.journal, gone, "destroyed (drill teardown)")
        instances = [i for d in doomed for i in d.instances]
        return (
            tuple(TornDown("instance", i, "deleted") for i in instances)
            + tuple(TornDown("cluster", c, "deleted, no final snapshot (disposable)") for c in gone)
            + copied
        )


@dataclass
class Draft:
    """What a drill has measured so far."""

    id: str
    options: DrillOptions
    point: RecoveryPoint
    cluster: str
    clock: Clock
    caller: str
    region: str
    rto_s: float | None = None
    rpo_data_s: float | None = None
    baseline: WriteCounters | None = None
    beat_check: Check | None = None
    checks: tuple[Check, ...] = ()
    injected: str | None = None

    def result(self, torn: tuple[TornDown, ...], *, error: str | None = None) -> DrillResult:
        t0 = self.clock.t0_wall
        assert t0 is not None
        rpo = (t0 - self.point.time).total_seconds()
        opts = self.options
        rpo_target = opts.rpo_target.total_seconds() if opts.rpo_target else None
        rto_target = opts.rto_target.total_seconds() if opts.rto_target else None
        worst_rpo = max(x for x in (rpo, self.rpo_data_s) if x is not None)
        met = (rpo_target is None or worst_rpo <= rpo_target) and (
            rto_target is None or (self.rto_s is not None and self.rto_s <= rto_target)
        )
        return DrillResult(
            id=self.id,
            source=opts.source,
            choice=str(opts.recovery),
            recovery_point=self.point.describe(),
            region=self.region,
            cluster=self.cluster,
            t0=iso_ms(t0),
            rto_s=self.rto_s,
            rpo_metadata_s=rpo,
            rpo_data_s=self.rpo_data_s,
            phases=tuple(self.clock.phases),
            checks=self.checks,
            targets=Targets(rpo_target, rto_target, met),
            teardown_done=all(not r.action.startswith("left") for r in torn),
            resources=torn,
            caller=self.caller or None,
            tool_version=__version__,
            injected=self.injected,
            error=error,
        )


__all__ = ["DrillRunner", "copy_name"]

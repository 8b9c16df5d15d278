"""A drill's teardown: its copy deleted -- instances, then the cluster, without a
final snapshot (a clone declared disposable, ``snapmigrate:final-snapshot=no``)
and waited until gone -- and, after ``--to-region``, the snapshot copied there.
With ``--keep`` the copy stays until its expiry tag (``clone gc`` sweeps it).
Runs after a success, a failure or Ctrl-C alike, and at the end of ``--resume``.
"""

from __future__ import annotations

import contextlib
import logging

from snapmigrate.clone import destroy
from snapmigrate.clone.journal import mark_gone
from snapmigrate.clone.runner import CloneRunner
from snapmigrate.clone.spec import CloneSpec
from snapmigrate.drill import region
from snapmigrate.drill.result import TornDown
from snapmigrate.errors import SnapmigrateError
from snapmigrate.model import TAG_EXPIRES_AT

log = logging.getLogger(__name__)

#: The drill that made a copy (a clone) or a region's snapshot copy.
TAG_DRILL = "snapmigrate:drill"


def copy_snapshot_name(cluster: str) -> str:
    """The snapshot copied into the target region, named after the copy it restores."""
    return f"{cluster}-snap"


def teardown(
    runner: CloneRunner, spec: CloneSpec, *, keep: bool, region_copy: str | None
) -> tuple[TornDown, ...]:
    """Delete the copy (and ``region_copy``) or keep it until its expiry; what was done."""
    if keep:
        expires = spec.tags.get(TAG_EXPIRES_AT, "?")
        return (TornDown("cluster", spec.name, f"kept until {expires} (clone gc)"),)
    aws = runner.aws
    copied: tuple[TornDown, ...] = ()
    try:
        doomed = destroy.check(aws, [spec.name], runner.now(), run_id=spec.run_id)
        gone = destroy.destroy(aws, doomed, runner.waiter, runner.settings, stamp=runner.stamp)
        if region_copy:
            snap = region.delete_copy(aws, region_copy, (TAG_DRILL, spec.tags[TAG_DRILL]))
            copied = (TornDown("snapshot", snap, "deleted (the region copy)"),) if snap else ()
    except (SnapmigrateError, KeyboardInterrupt) as e:
        log.error(
            "drill copy %s not torn down: %s -- 'snapmigrate clone destroy %s --yes'",
            spec.name, e, spec.name,
        )  # fmt: skip
        return (TornDown("cluster", spec.name, f"left: {e}"),)
    with contextlib.suppress(SnapmigrateError, OSError):
        mark_gone(runner.journal, gone, "destroyed (drill teardown)")
    instances = [i for d in doomed for i in d.instances]
    return (
        tuple(TornDown("instance", i, "deleted") for i in instances)
        + tuple(TornDown("cluster", c, "deleted, no final snapshot (disposable)") for c in gone)
        + copied
    )

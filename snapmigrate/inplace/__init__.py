"""The in-place path: convert, add Serverless v2 readers, fail over, remove the rest.

Its steps are in :mod:`.workflow`; :func:`outages` reads what the write probe
measured from a run's journal (light: the report imports it).
"""

from __future__ import annotations

from typing import Any

from snapmigrate.workflow.journal import RunRecord

#: ``TargetSpec.path`` of this path (``snapmigrate.migrate.IN_PLACE`` names it too).
PATH = "in-place"


def outages(record: RunRecord | None) -> list[tuple[str, float | None]]:
    """(step, seconds) for every disruptive step the probe ran for so far in the run
    (None: not measured, the step's ``probe`` detail says why)."""
    found: list[tuple[str, float | None]] = []
    for step in record.steps if record is not None else ():
        details = step.details or {}
        if "write_unavailable_s" in details:
            seconds = details["write_unavailable_s"]
            found.append((step.name, None if seconds is None else float(seconds)))
    return found


def outages_json(record: RunRecord) -> list[dict[str, Any]] | None:
    """The run JSON's ``outages`` (``migrate``'s and ``status``'s) for an in-place run;
    None for the snapshot path, which has no such key."""
    if (record.plan.get("target") or {}).get("path") != PATH:
        return None
    return [{"step": step, "write_unavailable_s": s} for step, s in outages(record)]

"""Where clones are journaled: ``<state-dir>/clones/``, one file per create or reset
(the migration's run records, keyed by the clone's run id), beside a copy of a
masked clone's rules (``<name>.mask.toml``) for ``reset``. The tags stay the truth."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from snapmigrate.workflow.journal import Journal, RunRecord, state_dir

KIND = "clone"


def clones_journal(directory: str | os.PathLike[str] | None) -> Journal:
    """The clones' journal under the state directory (``--state-dir``)."""
    return Journal(Path(state_dir(directory)) / "clones")


def rules_path(journal: Journal, name: str) -> Path:
    """Where a masked clone's rules are kept, for ``reset``."""
    return journal.directory / f"{name}.mask.toml"


def is_clone_run(record: RunRecord) -> bool:
    return record.plan.get("kind") == KIND


def find_run(directory: str | os.PathLike[str] | None, run_id: str) -> RunRecord | None:
    """A clone's create or reset by run id, or None."""
    journal = clones_journal(directory)
    return journal.load(run_id) if journal.exists(run_id) else None


def mark_gone(journal: Journal, names: Sequence[str], how: str, *, keep: str | None = None) -> None:
    """The runs that made these clones (but ``keep``) say the clones are gone (``cleaned``)."""
    for record in journal.runs():
        if record.target in names and record.state == "done" and record.run_id != keep:
            journal.save(
                replace(record, state="cleaned").with_event(f"clone {record.target} {how}")
            )

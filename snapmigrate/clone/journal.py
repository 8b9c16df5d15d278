"""Where clones are journaled: ``<state-dir>/clones/``, one file per create or reset
(the migration's run records, keyed by the clone's run id), beside a copy of a
masked clone's rules (``<name>.mask.toml``) for ``reset``. The tags stay the truth."""

from __future__ import annotations

import os
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

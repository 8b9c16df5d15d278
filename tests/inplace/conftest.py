"""The in-place tests reuse the migration's moto world (a mock that resets between runs)."""

from tests.migrate.conftest import world

__all__ = ["world"]

"""Controlling a local PostgreSQL server's postmaster (a part of
:class:`snapmigrate_lab.postgres.PgServer`): start, stop, restart, reload and
promote with ``pg_ctl`` of the server's installation, and whether it runs.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from snapmigrate.errors import OperationFailed
from snapmigrate_lab.pgrun import binary, run_pg
from snapmigrate_lab.runtime import alive, wait_gone


class Control:
    """A server's postmaster: started, stopped, reloaded, promoted (a part of
    :class:`PgServer`)."""

    datadir: Path
    port: int
    settings: dict[str, str]
    server_binary: Callable[[str], str]
    configure: Callable[[dict[str, str]], None]

    def start(self, timeout: float = 60) -> None:
        """Start the server and wait until it accepts connections."""
        run_pg(
            [
                self.server_binary("pg_ctl"),
                "-D",
                str(self.datadir),
                "-l",
                str(self.datadir / "server.log"),
                "-w",
                "-t",
                str(int(timeout)),
                "start",
            ],
            timeout=timeout + 10,
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server if it runs (idempotent)."""
        if not self.is_running():
            return
        try:
            # Stopping only signals the postmaster: any pg_ctl will do when this major's is gone.
            try:
                pg_ctl = self.server_binary("pg_ctl")
            except OperationFailed:
                pg_ctl = binary("pg_ctl")
            run_pg([pg_ctl, "-D", str(self.datadir), "-m", mode, "-w", "stop"])
        except OperationFailed:
            if self.is_running():
                self._kill()

    def restart(self, *, port: int | None = None, settings: dict[str, str] | None = None) -> None:
        """Stop (fast: sessions are ended), take another port or settings, start again."""
        self.stop()
        if port is not None:
            self.port = port
        self.configure(self.settings if settings is None else settings)
        self.start()

    def reload(self) -> None:
        """Make the server read its configuration again (sessions stay)."""
        run_pg([self.server_binary("pg_ctl"), "-D", str(self.datadir), "reload"])

    def promote(self, timeout: float = 60) -> None:
        """End a standby's recovery: it becomes a primary on a new timeline."""
        pg_ctl, wait = self.server_binary("pg_ctl"), ["-w", "-t", str(int(timeout))]
        run_pg([pg_ctl, "-D", str(self.datadir), *wait, "promote"], timeout=timeout + 10)

    def _kill(self) -> None:
        pid = self.pid()
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
            wait_gone([pid], 5)

    def pid(self) -> int | None:
        try:
            first = (self.datadir / "postmaster.pid").read_text().splitlines()[0]
            return int(first)
        except (OSError, ValueError, IndexError):
            return None

    def is_running(self) -> bool:
        pid = self.pid()
        return pid is not None and alive(pid)

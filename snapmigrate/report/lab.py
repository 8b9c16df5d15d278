"""The lab's results as human text: what runs where, how to point tools at it."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import TYPE_CHECKING

from snapmigrate.report import format_table, heading

if TYPE_CHECKING:
    from snapmigrate.lab import DownResult, UpResult
    from snapmigrate.lab.demo import DemoResult
    from snapmigrate.lab.realism import Knobs


def env_lines(env: Mapping[str, str]) -> str:
    """``export`` lines for a POSIX shell (``eval "$(snapmigrate lab env)"``)."""
    return "\n".join(f"export {key}={shlex.quote(value)}" for key, value in env.items())


def up_table(result: UpResult) -> str:
    st = result.state
    verb = "already running" if result.already_running else "up"
    lines = [f"Lab {verb} in {st.dir} (pid {st.pid}), AWS API on {st.endpoint_url}"]
    if st.servers:
        lines.append(heading("Servers"))
        rows = [(s.cluster_id, s.region, f"127.0.0.1:{s.endpoint_port or s.port}", str(s.port), s.datadir) for s in st.servers]
        lines.append(format_table(["cluster", "region", "endpoint (TLS)", "server port", "data"], rows))
    if result.seed:
        seed = result.seed
        lines.append(heading(f"Seeded {seed.kind} cluster {seed.cluster_id} in {seed.elapsed_s:.1f} s"))
        lines.append(
            format_table(
                ["what", "value"],
                [
                    ("engine", f"aurora-postgresql {seed.engine_version} ({seed.engine_mode})"),
                    ("endpoint", f"{seed.endpoint}:{seed.port}"),
                    ("database", f"{seed.database} (user {seed.user}; password in {st.pgpass})"),
                    ("rows", ", ".join(f"{t} {n:,}" for t, n in seed.tables.items())),
                    ("dns", f"{seed.dns_record} CNAME -> writer endpoint (zone {seed.dns_zone_id})"),
                ],
            )
        )
    lines.append(heading("Point boto3, the aws CLI and snapmigrate at it:"))
    lines.append(f'  eval "$(snapmigrate lab env --dir {shlex.quote(st.dir)})"')
    lines.append(f"\nReady in {result.elapsed_s:.1f} s.")
    return "\n".join(lines)


def down_table(result: DownResult) -> str:
    if not result.daemon_stopped and not result.servers_stopped and not result.removed:
        return f"No lab was running in {result.dir}; nothing to do."
    parts = []
    if result.daemon_stopped:
        parts.append("stopped the lab daemon and its servers")
    if result.servers_stopped:
        parts.append(f"stopped {result.servers_stopped} leftover server(s)")
    parts.append(f"removed {result.dir}" if result.removed else f"kept {result.dir}")
    return "Lab down: " + "; ".join(parts) + "."


def knobs_table(knobs: Knobs) -> str:
    rows = [
        ("delay_polls", str(knobs.delay_polls)),
        ("delay_seconds", f"{knobs.delay_seconds:g}"),
        ("throttle_rate", f"{knobs.throttle_rate:g}"),
        ("error_rate", f"{knobs.error_rate:g}"),
        ("seed", str(knobs.seed)),
        ("fail", "; ".join(f"{r.action} -> {r.code}{' (after)' if r.after else ''} x{r.times}" for r in knobs.fail) or "-"),
    ]
    return format_table(["knob", "value"], rows)


def demo_table(result: DemoResult) -> str:
    rows = [(s.name, "ok" if s.ok else "FAILED", f"{s.elapsed_s:.1f} s", s.summary) for s in result.stages]
    verdict = "Demo finished" if result.ok else "Demo FAILED"
    return "\n".join(
        [heading("Summary"), format_table(["stage", "result", "time", "what happened"], rows), f"\n{verdict} in {result.elapsed_s:.1f} s."]
    )

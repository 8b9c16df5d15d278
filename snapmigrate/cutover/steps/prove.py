"""The prove step: the name clients use reaches the target's server and takes a write."""

from __future__ import annotations

from dataclasses import dataclass, replace

from snapmigrate.cutover.context import CutoverContext
from snapmigrate.cutover.state import (
    stamp,
)
from snapmigrate.cutover.steps.base import Basis, Phase
from snapmigrate.cutover.swap import swap_for
from snapmigrate.db import probe
from snapmigrate.db.connect import Endpoint
from snapmigrate.errors import OperationFailed, SnapmigrateError
from snapmigrate.progress import Status
from snapmigrate.records import Record
from snapmigrate.workflow.step import Outcome


@dataclass(frozen=True)
class ProveInputs(Record):
    mode: str


class ProveStep(Phase[ProveInputs]):
    """The name clients use reaches the target's server and takes a write."""

    name = "prove"
    inputs = ProveInputs

    def plan(self, basis: Basis) -> ProveInputs | None:
        return ProveInputs(basis.options.mode) if basis.options.mode else None

    def describe(self, inputs: ProveInputs) -> str:
        return "prove the name clients use reaches the target and takes writes"

    def apply(self, ctx: CutoverContext, inputs: ProveInputs) -> Outcome:
        swap = swap_for(inputs.mode)
        identity = ctx.state.identity
        assert identity is not None and identity.target is not None
        target = identity.target
        name = client_endpoint(ctx, swap.client_host(ctx))
        seen: dict[str, str] = {}

        def poll() -> dict[str, Status]:
            try:
                now = probe.identity(name, connect_map=ctx.connect_map, timeout=5)
            except SnapmigrateError as e:
                seen["last"] = str(e)
                return {name.host: Status("not answering")}
            if not now.same_server(target):
                seen["last"] = f"{name.host} still reaches {now}"
                return {name.host: Status("old server")}
            refusal = probe.write_refusal(name, connect_map=ctx.connect_map, timeout=5)
            if refusal:
                seen["last"] = refusal
                return {name.host: Status("read-only")}
            return {name.host: Status("target, writable", done=True)}

        try:
            ctx.wait(f"{name.host} to reach the target", poll, cap=swap.prove_timeout(ctx))
        except SnapmigrateError as e:
            why = seen.get("last", e)
            raise OperationFailed(f"{name.host} did not reach a writable target: {why}") from e
        ctx.save(replace(ctx.state, writable_at=stamp()))
        return Outcome(
            f"{name.host} reaches {ctx.plan.target.identifier} ({target}) and accepts writes"
        )


def client_endpoint(ctx: CutoverContext, host: str) -> Endpoint:
    """The name clients use, as an endpoint with the target's login."""
    target = ctx.target
    tls = "verify-ca" if target.sslrootcert else "require" if target.is_aws else None
    return replace(
        target,
        label="name clients use",
        host=host,
        port=int(ctx.state.source_port or target.port),
        sslmode=target.sslmode or tls,
        cluster_id=None,
    )

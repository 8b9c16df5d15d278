"""The guardrails step: everything checked before anything changes, each check a
pass/fail line. It gathers the facts (AWS, the databases); the verdicts are
:mod:`snapmigrate.cutover.guardrails`'s, pure."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from snapmigrate.aws import rds
from snapmigrate.cutover import catchup, guardrails
from snapmigrate.cutover.context import CutoverContext
from snapmigrate.cutover.dataplane import compare, verify_line
from snapmigrate.cutover.state import (
    Guardrail,
    Identities,
)
from snapmigrate.cutover.steps.base import Basis, Phase
from snapmigrate.cutover.swap import swap_for
from snapmigrate.db import freeze as db_freeze
from snapmigrate.db import probe
from snapmigrate.errors import SnapmigrateError
from snapmigrate.migrate import verify as migration_verify
from snapmigrate.records import Record
from snapmigrate.workflow.step import Outcome

#: How often a postponed cutover looks at its flag file again.
POSTPONE_POLL_S = 5.0


@dataclass(frozen=True)
class GuardrailsInputs(Record):
    after_freeze: bool = False
    long_transaction_s: float = 60.0
    verify_mode: str = "checksum"
    postpone_flag: str | None = None


class GuardrailsStep(Phase[GuardrailsInputs]):
    """Everything checked before anything changes; each check a pass/fail line."""

    name = "guardrails"
    inputs = GuardrailsInputs
    permissions = (
        "rds:DescribeDBClusters",
        "rds:DescribeDBInstances",
        "secretsmanager:GetSecretValue",
    )

    def plan(self, basis: Basis) -> GuardrailsInputs:
        o = basis.options
        return GuardrailsInputs(
            basis.after_freeze, o.long_transaction_s, o.verify_mode, o.postpone_flag
        )

    def describe(self, inputs: GuardrailsInputs) -> str:
        return "check the target, the verification, long transactions, the swap, the flag"

    def apply(self, ctx: CutoverContext, inputs: GuardrailsInputs) -> Outcome:
        after_freeze = inputs.after_freeze
        target_id = ctx.target.cluster_id or ctx.plan.target.identifier
        cluster = ctx.cluster(target_id) or {}
        instances = rds.list_instances(ctx.aws, target_id)
        checks = [guardrails.target_available(target_id, cluster.get("Status"), instances)]
        _remember_source(ctx)
        checks.append(_target_answers(ctx, target_id, after_freeze))
        if not after_freeze:
            if ctx.plan.target.catch_up.logical:
                checks += catchup.guardrails(ctx, inputs.verify_mode)
            else:
                checks.append(_verification(ctx, inputs.verify_mode))
            found = db_freeze.long_transactions(
                ctx.source, inputs.long_transaction_s, connect_map=ctx.connect_map
            )
            checks.append(guardrails.long_transactions(found, inputs.long_transaction_s))
        swap = swap_for(ctx.options.mode)
        checks.append(swap.ready(ctx))
        checks += swap.notes(ctx)
        password = guardrails.managed_password(
            ctx.plan.source.master_username,
            (cluster.get("MasterUserSecret") or {}).get("SecretArn"),
            ctx.plan.source.master_user_secret_arn,
        )
        if password is not None:
            checks.append(password)
        if not after_freeze:
            checks.append(guardrails.postponed(inputs.postpone_flag, _postpone(ctx, inputs)))
        ctx.save(replace(ctx.state, guardrails=tuple(checks)))
        for check in checks:
            ctx.say(guardrails.line(check))
        return Outcome(guardrails.verdict(checks))


def _remember_source(ctx: CutoverContext) -> None:
    """Journal the source's endpoints once: after a rename they answer for the target."""
    if ctx.state.source_endpoint:
        return
    source = ctx.cluster(ctx.source.cluster_id or ctx.plan.source.identifier) or {}
    ctx.save(
        replace(
            ctx.state,
            source_endpoint=source.get("Endpoint"),
            source_reader_endpoint=source.get("ReaderEndpoint"),
            source_port=int(source.get("Port") or 5432),
        )
    )


def _target_answers(ctx: CutoverContext, target_id: str, after_freeze: bool) -> Guardrail:
    """The target answers SELECT 1; who answers (and, before the freeze, at the
    source) is journaled for the proof."""
    try:
        target = probe.identity(ctx.target, connect_map=ctx.connect_map)
        seen = replace(ctx.state.identity or Identities(), target=target)
        if not after_freeze:
            seen = replace(seen, source=probe.identity(ctx.source, connect_map=ctx.connect_map))
        ctx.save(replace(ctx.state, identity=seen))
    except SnapmigrateError as e:
        return Guardrail("target answers", False, str(e))
    return Guardrail("target answers", True, f"{target_id} answers SELECT 1 at {target}")


def _verification(ctx: CutoverContext, mode: str) -> Guardrail:
    """The run's verification passed -- or a verification now does."""
    if migration_verify.passed(ctx.record):
        finished = ctx.record.step(migration_verify.NAME).finished
        return Guardrail("verification", True, f"the run's verification passed ({finished})")
    ctx.say("  the run's verification did not pass (or did not run): verifying now")
    result = compare(ctx, mode, drift_allowed=True)
    if result.exit_code == 0:
        return Guardrail("verification", True, f"verified now: {verify_line(result)}")
    return Guardrail(
        "verification", False, f"the copy differs from the source: {verify_line(result)}"
    )


def _postpone(ctx: CutoverContext, inputs: GuardrailsInputs) -> float:
    """Wait while the ``--postpone-flag`` file exists (like gh-ost's); seconds waited."""
    flag, waited = inputs.postpone_flag, 0.0
    while flag and os.path.exists(flag):
        if waited == 0.0 or waited % 60 < POSTPONE_POLL_S:
            ctx.say(
                f"  postponed: {flag} exists; the cutover waits until it is removed "
                "(Ctrl-C to give up)"
            )
        ctx.waiter.clock.sleep(POSTPONE_POLL_S)
        waited += POSTPONE_POLL_S
    return waited

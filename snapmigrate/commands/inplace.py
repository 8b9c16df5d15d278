"""The in-place path's own commands: ``plan SOURCE --compare`` (both paths side by side)
and ``iac RUN_ID`` (the cluster a run left, as Terraform or CloudFormation to adopt)."""

from __future__ import annotations

from dataclasses import replace

from snapmigrate.aws import Aws
from snapmigrate.commands.config import Config
from snapmigrate.errors import BadInput
from snapmigrate.inplace.iac import CodeCluster, read_cluster
from snapmigrate.migrate import IN_PLACE
from snapmigrate.plan import make_plan
from snapmigrate.plan.compare import Comparison, compare, default_target
from snapmigrate.plan.options import SNAPSHOT, PlanOptions
from snapmigrate.workflow.journal import check_run_id


def plan_compare(config: Config, source: str, options: PlanOptions) -> Comparison:
    """Plan ``source`` both ways (read-only) and put the paths side by side; the snapshot
    path with ``options.target`` or ``<source>-v2``. Changes nothing."""
    if options.path != SNAPSHOT:
        raise BadInput("--compare shows both paths: drop --path")
    clients = config.clients()
    target = options.target or default_target(source.lower())
    by_snapshot = make_plan(clients, source, replace(options, target=target))
    in_place = PlanOptions(
        path=IN_PLACE,
        min_acu=options.min_acu,
        max_acu=options.max_acu,
        seconds_until_auto_pause=options.seconds_until_auto_pause,
        engine_version=options.engine_version,
        interim_class=options.interim_class,
    )
    return compare(by_snapshot, make_plan(clients, source, in_place))


FORMATS = ("terraform", "cloudformation")


def iac(config: Config, run_id: str, fmt: str) -> CodeCluster:
    """The cluster run ``run_id`` left, read from AWS, for ``fmt`` (``report.iac``
    writes it as code). Changes nothing."""
    if fmt not in FORMATS:
        raise BadInput(f"--format {fmt!r} is not one of {', '.join(FORMATS)}")
    record = config.journal().load(check_run_id(run_id))
    return read_cluster(Aws.of(config.clients()), record)

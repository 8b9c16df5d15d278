"""The preflight of the in-place path (``--path in-place``): the source keeps its name
and endpoints; what it checks and decides besides the snapshot path's rules that
apply -- the interim class of a conversion, the two db.serverless instances and
their zones, names that are free. Pure: no AWS and no PostgreSQL.

AWS's path: convert a Serverless v1 cluster to provisioned, then, as for any
provisioned cluster, set the capacity range, add a db.serverless reader, fail
over to it, remove the provisioned instances:
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2.upgrade.html
"""

from __future__ import annotations

from snapmigrate.inplace.classes import interim_class
from snapmigrate.migrate import IN_PLACE
from snapmigrate.model import Finding, InstanceSpec, SourceCluster, TargetSpec
from snapmigrate.plan import versions
from snapmigrate.plan.rules import Findings, Inputs, check_engine, check_source
from snapmigrate.plan.spec import SERVERLESS, map_scaling, target_versions

#: The failover target (tier 0: first in line) and the second zone's reader.
PROMOTED_TIER, READER_TIER = 0, 1


def instance_names(cluster_id: str) -> tuple[str, str]:
    """The two db.serverless instances: ``<cluster>-v2-1`` (the writer to be), ``-v2-2``."""
    return f"{cluster_id}-v2-1", f"{cluster_id}-v2-2"


def plan_instances(src: SourceCluster, f: Findings) -> tuple[InstanceSpec, ...]:
    """The writer to be in the writer's zone, the reader in another."""
    azs = list(src.availability_zones)
    writer_az = next((i.availability_zone for i in src.instances if i.is_writer), None)
    if writer_az in azs:
        azs.remove(writer_az)
    first = writer_az or (azs.pop(0) if azs else None)
    second = azs[0] if azs else None
    promoted, reader = instance_names(src.identifier)
    for name in (promoted, reader):
        if len(name) > 63:
            f.add("block", "instance-name", f"instance name {name} is over RDS's 63 characters")
        if any(i.identifier == name for i in src.instances):
            f.add(
                "block",
                "instance-name",
                f"{src.identifier} already has an instance {name}: snapmigrate adds "
                f"{promoted} and {reader}; rename or remove it first",
            )
    if first and second:
        f.add("ok", "zones", f"{promoted} in {first}, {reader} in {second}: two zones")
    else:
        f.add(
            "warn",
            "zones",
            f"{src.identifier} lists fewer than two availability zones: AWS places the "
            "instances, which may share a zone",
        )
    return (
        InstanceSpec(promoted, SERVERLESS, first, PROMOTED_TIER, "serverless-writer"),
        InstanceSpec(reader, SERVERLESS, second, READER_TIER, "serverless-reader"),
    )


def check_mode(src: SourceCluster, f: Findings) -> None:
    """Only v1 and provisioned clusters have somewhere to go in place."""
    if src.kind == "serverless-v2" and all(i.instance_class == SERVERLESS for i in src.instances):
        f.add(
            "block",
            "in-place-mode",
            f"{src.identifier} runs only db.serverless instances already: nothing to do in place",
        )
    elif src.kind == "serverless-v1":
        f.add(
            "ok",
            "in-place-mode",
            "Serverless v1: converted to provisioned first (irreversible; AWS also takes a "
            "pre-modify-engine-mode snapshot), then moved to db.serverless instances",
        )
    else:
        tiers = ", ".join(
            f"{i.identifier} tier {i.promotion_tier if i.promotion_tier is not None else 1}"
            for i in src.instances
        )
        f.add("ok", "in-place-mode", f"provisioned: instances {tiers or 'none'}")


def preflight_in_place(inp: Inputs) -> tuple[TargetSpec, tuple[Finding, ...]]:
    """The in-place plan's target (the source itself, changed) and the findings."""
    f = Findings()
    src, opts = inp.source, inp.options
    check_source(inp, f)
    check_mode(src, f)
    choice = target_versions(inp)
    if choice.problem:
        f.add("block", "engine-version-input", choice.problem)
    target = versions.facts_for(inp.catalog, src.engine, choice.version)
    check_engine(inp, target, choice, f)
    scaling = map_scaling(inp, target, f)
    interim = None
    if src.kind == "serverless-v1":
        maximum = src.v1_scaling.max_capacity if src.v1_scaling else None
        interim = opts.interim_class or interim_class(maximum)
        how = "as asked" if opts.interim_class else f"AWS's class for {maximum} ACU maximum"
        f.add("ok", "interim-class", f"the conversion's provisioned writer: {interim} ({how})")
    instances = plan_instances(src, f)
    spec = TargetSpec(
        identifier=src.identifier,
        engine=src.engine,
        engine_version=choice.version,
        restore_version=src.engine_version,
        scaling=scaling,
        instances=instances,
        port=src.port,
        deletion_protection=src.deletion_protection,
        backup_retention_period=src.backup_retention_period,
        tags={k: v for k, v in opts.tags.items()},
        path=IN_PLACE,
        interim_class=interim,
    )
    return spec, tuple(f.items)


def check_orderable(
    spec: TargetSpec, offered: tuple[str, ...] | str, found: tuple[Finding, ...]
) -> tuple[Finding, ...]:
    """What ``DescribeOrderableDBInstanceOptions`` says of db.serverless for the version:
    "If the command doesn't produce any output, Aurora Serverless v2 isn't available for
    that combination of AWS Region and DB engine." A warning, not a block, when it lists
    nothing: the engine version's ServerlessV2FeaturesSupport (``engine-version``) has
    already said whether the version has Serverless v2 here, and an endpoint such as
    moto lists no db.serverless at all.
    """
    f = Findings()
    what = f"db.serverless for {spec.engine} {spec.engine_version}"
    if isinstance(offered, str):
        f.add("warn", "serverless-orderable", f"could not check {what}: {offered}")
    elif not offered:
        f.add(
            "warn",
            "serverless-orderable",
            f"DescribeOrderableDBInstanceOptions lists no {what} in this region: AWS says "
            "Serverless v2 is then not available here; check before migrating",
        )
    else:
        f.add("ok", "serverless-orderable", f"{what} orderable in {', '.join(offered)}")
        zones = [i.availability_zone for i in spec.instances if i.availability_zone]
        missing = [z for z in zones if z not in offered]
        if missing:
            f.add(
                "block",
                "serverless-orderable",
                f"{what} is not offered in {', '.join(missing)}: the instances' zones must "
                f"be among {', '.join(offered)}",
            )
    return (*found, *f.items)

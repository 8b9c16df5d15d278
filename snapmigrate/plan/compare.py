"""``plan SOURCE --compare``: the snapshot path and the in-place path side by side, for
this source -- steps, the expected write outage (the lab's measurements and AWS's
documented figures), what can be undone, whether the endpoint changes, how the data
is proven, what runs (and costs) during the move. Pure: made from the two plans.
"""

from __future__ import annotations

from dataclasses import dataclass

from snapmigrate.model import Plan
from snapmigrate.records import Record

#: Figures measured in the lab (docs/performance.md has the commands and the runs).
LAB_FAILOVER = "about 0.4 s in the lab (0.28-0.52 s, 6 runs: benchmarks/inplace_lab.py)"
LAB_CONVERSION = "about 0.4 s in the lab (0.39-0.48 s, 3 runs: benchmarks/inplace_lab.py)"
LAB_CUTOVER = "dns 2.1 s, rename 2.7 s in the lab (benchmarks/cutover_lab.py)"
LAB_UPGRADE = "2-3 s in the lab for 11.18 to 18.4 (tests/inplace/test_lab.py)"
#: AWS: "service is typically restored in less than 120 seconds, and often less than 60
#: seconds" --
#: https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.AuroraHighAvailability.html
AWS_FAILOVER = "AWS: typically under 120 s, often under 60 s"
#: AWS documents no figure for a v1 conversion; it creates a reader and promotes it.
AWS_CONVERSION = "AWS documents no figure (a reader is created and promoted)"
#: The default target the snapshot path is shown with when no --target is given.
DEFAULT_TARGET_SUFFIX = "-v2"


@dataclass(frozen=True)
class PathView(Record):
    """One path, for this source."""

    path: str
    steps: tuple[str, ...]
    write_outage: str
    reversible: str
    endpoint: str
    data_proof: str
    cost: str
    blocked: str | None = None


@dataclass(frozen=True)
class Comparison(Record):
    source: str
    snapshot: PathView
    in_place: PathView

    def to_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "paths": [self.snapshot.to_dict(), self.in_place.to_dict()],
        }


def default_target(source: str) -> str:
    return f"{source}{DEFAULT_TARGET_SUFFIX}"


def _blocked(plan: Plan) -> str | None:
    first = next((f for f in plan.findings if f.level == "block"), None)
    return f"[{first.code}] {first.message}" if first else None


def snapshot_view(plan: Plan) -> PathView:
    tgt = plan.target
    return PathView(
        path="snapshot",
        steps=tuple(s.name for s in plan.steps),
        write_outage=(
            "none while copying (the source keeps serving); at the cutover, writes stop until "
            f"clients reach the copy: {LAB_CUTOVER}; on AWS it depends on DNS TTLs and clients"
        ),
        reversible=(
            f"everything: {plan.source.identifier} is never changed; until clients move, "
            "'snapmigrate cleanup' removes the copy; after, 'snapmigrate rollback' points them "
            "back (writes made on the copy meanwhile stay on it)"
        ),
        endpoint=(
            f"changes: a new cluster {tgt.identifier}; clients move by --cutover dns (a Route 53 "
            "record) or rename (the old name, after a rename swap)"
        ),
        data_proof="verify step: source and copy compared table by table before the cutover",
        cost=(
            f"two clusters side by side until the old one is retired: {plan.source.identifier} as "
            f"it is, plus {tgt.identifier}'s db.serverless instances "
            f"({tgt.scaling.min_capacity:g}-{tgt.scaling.max_capacity:g} ACU each) and the "
            "snapshot's storage"
        ),
        blocked=_blocked(plan),
    )


def in_place_view(plan: Plan) -> PathView:
    names = tuple(s.name for s in plan.steps)
    outages = []
    if "convert" in names:
        outages.append(f"convert: {LAB_CONVERSION}; {AWS_CONVERSION}")
    outages.append(f"failover: {LAB_FAILOVER}; {AWS_FAILOVER}")
    if "upgrade" in names:
        outages.append(f"upgrade: {LAB_UPGRADE}; on AWS the writer restarts on the new version")
    never = [s.name for s in plan.steps if "CANNOT be undone" in s.summary]
    tgt = plan.target
    interim = f"a provisioned {tgt.interim_class} writer, " if tgt.interim_class else ""
    return PathView(
        path="in-place",
        steps=names,
        write_outage="; ".join(outages),
        reversible=(
            f"not after {', '.join(never)}: the way back is a restore of the safety snapshot "
            "(a new cluster)"
            if never
            else "each step can be undone (fail back, add a provisioned instance again); the "
            "safety snapshot stays as the last resort"
        ),
        endpoint="unchanged: the same cluster, name and endpoints",
        data_proof=(
            "nothing is copied (the same volume); the safety snapshot can be restored and "
            "compared with 'snapmigrate verify'"
        ),
        cost=(
            f"one cluster: for a while {interim}the provisioned instances and two db.serverless "
            "instances together (a tier-0 db.serverless reader is held at least at the writer's "
            "capacity), plus the safety snapshot's storage"
        ),
        blocked=_blocked(plan),
    )


def compare(snapshot: Plan, in_place: Plan) -> Comparison:
    return Comparison(snapshot.source.identifier, snapshot_view(snapshot), in_place_view(in_place))

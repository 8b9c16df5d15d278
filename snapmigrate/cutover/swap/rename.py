"""Cut over by renaming: the source becomes ``<source>-old-<run>``, the target
takes the source's name, and with it the endpoint host names clients use."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from snapmigrate.aws import ram, rds
from snapmigrate.cutover import guardrails
from snapmigrate.cutover.context import CutoverContext, old_name
from snapmigrate.cutover.state import CutoverOptions, CutoverState, Guardrail
from snapmigrate.cutover.swap.base import Swap, no_record_given
from snapmigrate.errors import BadInput
from snapmigrate.model import CutoverSpec, Level, Plan, SourceCluster
from snapmigrate.progress import Status

if TYPE_CHECKING:
    from snapmigrate.plan.discover import ZoneState

#: Run ids are 8 characters: the rename's ``<source>-old-<run>`` must fit RDS's 63.
RUN_ID_LENGTH = 8


class RenameSwap(Swap):
    """Rename the source away and the target onto its name.

    Which cluster is which is read from AWS, never assumed: the target carries
    this run's ``snapmigrate:run-id`` tag and the ``target`` role. ``undo``
    renames both back. (A rename modifies the source's identifier: the one
    change to the source, besides the freeze, that snapmigrate makes, and only
    here.) https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBCluster.html
    """

    mode = "rename"
    permissions = (
        "rds:ModifyDBCluster",
        "rds:DescribeDBClusters",
        "ram:GetResourceShareAssociations",
    )
    #: The new cluster endpoint names resolve only minutes after a rename. AWS gives no
    #: figure for Aurora; for RDS it documents "about 10 minutes" for a renamed DB
    #: instance and "about two minutes" for a Multi-AZ DB cluster. The proof waits for
    #: the longer (it ends as soon as the name reaches the target, so a quick DNS costs
    #: nothing, and a shorter window would roll back a cutover that was working).
    #: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_RenameInstance.html
    #: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/multi-az-db-cluster-rename.html
    prove_window_s = 600.0

    def check_plan(self, source_id: str, zone_id: str | None, record_name: str | None) -> None:
        no_record_given(zone_id, record_name)
        renamed = old_name(source_id, "x" * RUN_ID_LENGTH)
        if len(renamed) > 63:
            raise BadInput(
                f"--cutover rename would rename the source to {source_id}-old-<run>, "
                f"{len(renamed)} characters: RDS allows 63; use --cutover dns"
            )

    def plan(
        self, source: SourceCluster, target: str, zone_id: str | None, record_name: str | None,
        zone: ZoneState | None,
    ) -> tuple[CutoverSpec, Level, str]:  # fmt: skip
        source_id = source.identifier
        stays = [
            *(f"instance {i.identifier}" for i in source.instances),
            *(f"custom endpoint {e}" for e in source.custom_endpoints),
        ]
        left = (
            f"; NOT moved (they keep their names, on the old cluster): {', '.join(stays)}"
            if stays
            else ""
        )
        message = (
            f"cutover by rename: {source_id} becomes {source_id}-old-<run>, {target} takes the "
            f"name {source_id} and its cluster endpoint host names (instance identifiers and "
            "instance endpoints do not move; custom endpoints are not in a snapshot and do "
            f"not move){left}. The new names resolve minutes after the rename (AWS gives no "
            f"Aurora figure; about 10 minutes for an RDS instance): writes stay unavailable "
            f"until then, and the proof waits up to {self.prove_window_s / 60:g} min "
            "(--prove-timeout). AWS documents nothing about TLS certificates after a rename: "
            "rehearse clients that verify the host name (sslmode=verify-full)"
        )
        level: Level = "warn" if stays or source.cross_account_clone else "ok"
        if source.cross_account_clone:
            message += (
                f"; {source_id} is a cross-account clone: AWS documents nothing about renaming "
                "one"
            )
        return CutoverSpec(mode=self.mode), level, message

    def resolve(
        self, given: CutoverOptions, before: CutoverOptions | None, planned: CutoverSpec
    ) -> CutoverOptions:
        if given.zone_id or given.record_name or given.reader_record_name or given.set_identifier:
            raise BadInput(
                "--dns-zone-id/--dns-name/--reader-dns-name/--set-identifier only apply with "
                "--mode dns"
            )
        return replace(given, mode=self.mode)

    def _names(self, ctx: CutoverContext) -> tuple[str, str, str]:
        """(source name, the source's name once renamed away, target name)."""
        source = ctx.plan.source.identifier
        return source, old_name(source, ctx.run_id), ctx.plan.target.identifier

    def ready(self, ctx: CutoverContext) -> Guardrail:
        source, old, target = self._names(ctx)
        at_old, at_source = ctx.cluster(old), ctx.cluster(source)
        collision = guardrails.rename_collision(
            source,
            old,
            ctx.run_id,
            old_exists=at_old is not None,
            old_is_target=ctx.is_target(at_old),
            source_is_foreign=at_source is not None and not ctx.is_target(at_source),
        )
        if collision:
            raise BadInput(collision)  # a collision is bad input (exit 2)
        return Guardrail(
            "names", True, f"{source} -> {old} and {target} -> {source} are free to take"
        )

    def notes(self, ctx: CutoverContext) -> tuple[Guardrail, ...]:
        """The source's sharing (RAM, cross-account clone) and what a rename leaves behind."""
        source = ctx.cluster(self._names(ctx)[0]) or {}
        if not source or ctx.is_target(source):  # a resume after the swap: nothing to say
            return ()
        arn, cluster_id = str(source.get("DBClusterArn", "")), str(source["DBClusterIdentifier"])
        members = [str(m["DBInstanceIdentifier"]) for m in source.get("DBClusterMembers") or ()]
        custom = [str(e) for e in source.get("CustomEndpoints") or ()]
        shares = ram.shares_of(ctx.aws, arn) if arn else None
        return (
            guardrails.rename_sharing(cluster_id, shares, bool(source.get("CrossAccountClone"))),
            guardrails.left_behind(cluster_id, members, custom),
        )

    def question(self, ctx: CutoverContext) -> str:
        source, old, target = self._names(ctx)
        return f"rename {source} -> {old} and {target} -> {source}"

    def is_done(self, ctx: CutoverContext) -> bool:
        source, old, _ = self._names(ctx)
        return ctx.is_target(ctx.cluster(source)) and ctx.cluster(old) is not None

    def _rename(self, ctx: CutoverContext, old: str, new: str, *, ours: bool) -> None:
        rds.rename_cluster(ctx.aws, old, new)

        def renamed() -> dict[str, Status]:
            cluster = ctx.cluster(new)
            if cluster is None:
                return {new: Status("not there yet")}
            if ctx.is_target(cluster) != ours:
                return {new: Status("another cluster")}
            status = cluster.get("Status", "unknown")
            return {new: Status(status, done=status == "available")}

        ctx.wait(f"rename {old} -> {new}", renamed)

    def apply(self, ctx: CutoverContext) -> str:
        """Rename the source away, then the target onto its name (each waited for)."""
        source, old, target = self._names(ctx)
        at_source = ctx.cluster(source)
        if at_source is not None and not ctx.is_target(at_source):
            self._rename(ctx, source, old, ours=False)
        if not ctx.is_target(ctx.cluster(source)):
            self._rename(ctx, target, source, ours=True)
        return f"{source} -> {old}; {target} -> {source} (its endpoints now answer for {source})"

    def undo(self, ctx: CutoverContext) -> str:
        """Rename back: the target to its own name, then the source to its name."""
        source, old, target = self._names(ctx)
        done = []
        if ctx.is_target(ctx.cluster(source)):
            self._rename(ctx, source, target, ours=True)
            done.append(f"{source} -> {target}")
        if ctx.cluster(old) is not None and ctx.cluster(source) is None:
            self._rename(ctx, old, source, ours=False)
            done.append(f"{old} -> {source}")
        return "; ".join(done) + " (restored)" if done else "names already as before the cutover"

    def journaled(self, state: CutoverState, plan: Plan, run_id: str) -> Any:
        """The renames (by names: nothing else to journal), once this cutover is a rename."""
        if state.mode != self.mode:
            return None
        source, target = plan.source.identifier, plan.target.identifier
        old = old_name(source, run_id)
        return {
            "source": {"from": source, "to": old},
            "target": {"from": target, "to": source},
            "endpoint": state.source_endpoint,
        }

    def client_host(self, ctx: CutoverContext) -> str:
        """The source's original endpoint: it lands on the target with the name."""
        return ctx.state.source_endpoint or ""

    def serving(self, plan: Plan, run_id: str, state: CutoverState) -> str:
        source, target = plan.source.identifier, plan.target.identifier
        return (
            f"{target} now carries the name {source} and its endpoint host names, and takes "
            f"the clients' writes; the original source is {old_name(source, run_id)}"
        )

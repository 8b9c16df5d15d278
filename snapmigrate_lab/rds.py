"""The RDS half of the glue: keep moto's clusters and the lab's servers in step.

For each RDS call: answer what moto cannot (``catalog``, ``lifecycle``), check
what AWS would refuse and moto accepts (``rules``, then ``pre_*``), let moto
answer, then make the data plane follow (``post_*``) and the lab's records
(``lifecycle.after``), synchronously, before the caller sees the answer. Every
answer is then rewritten to what AWS would say: stable endpoint names,
transitional statuses, true membership.

The handlers live in mixins, one concern each: clusters made
(:mod:`~snapmigrate_lab.rds_create`), clusters changed
(:mod:`~snapmigrate_lab.rds_clusters`), snapshots
(:mod:`~snapmigrate_lab.rds_snapshots`) and instances
(:mod:`~snapmigrate_lab.rds_instances`), on the parts and readings of moto they
share (:mod:`~snapmigrate_lab.rds_parts`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from snapmigrate_lab import catalog, lifecycle, planeview, rules
from snapmigrate_lab.answers import Answers
from snapmigrate_lab.rds_clusters import ClusterChanges
from snapmigrate_lab.rds_create import ClusterCreation
from snapmigrate_lab.rds_instances import InstanceEffects
from snapmigrate_lab.rds_snapshots import SnapshotEffects
from snapmigrate_lab.realism import FAILING_CREATIONS
from snapmigrate_lab.wire import AwsCall, Forward, Refused, Response, error_response

log = logging.getLogger(__name__)


@dataclass
class RdsGlue(ClusterCreation, ClusterChanges, SnapshotEffects, InstanceEffects):
    """Pre-checks, data-plane effects and answer rewriting for RDS calls."""

    # -- the call -----------------------------------------------------------

    def handle(self, call: AwsCall, forward: Forward) -> tuple[Response, bool]:
        """Answer ``call``; the flag says whether the lab's state may have changed."""
        action = call.action or ""
        pre = getattr(self, f"pre_{action}", None)
        post = getattr(self, f"post_{action}", None)
        params: dict[str, str] | None = None
        try:
            own = catalog.answer(call) or lifecycle.answer(self, call)
            if own is not None:
                return own, False
            before = rules.check(self, call)
            if pre is not None:
                params = pre(call)
        except Refused as e:
            return error_response(call, e.code, e.message), False
        try:
            response = forward(params)
        except KeyError:
            # moto cannot restore a snapshot of a cluster that manages its password
            by_create = None
            if action == "RestoreDBClusterFromSnapshot":
                by_create = lifecycle.restore_by_create(self, call, params or call.params, forward)
            if by_create is None:
                raise
            response = by_create
        if not response.ok:
            return self.rewrite(call, response), False
        done = call
        if params is not None:
            done = AwsCall(call.service, call.region, call.action, call.protocol, params)
        failed = self.realism.failure_state(action)
        try:
            if post is not None and not (failed and FAILING_CREATIONS[action] == "cluster"):
                post(done, response)  # a cluster created into a failure state gets no server
            lifecycle.after(self, done, before)
            if failed:
                lifecycle.fail(self, done, failed)
        except Refused as e:
            return error_response(call, e.code, e.message), True
        except Exception as e:
            log.exception("the data plane failed to follow %s", action)
            return error_response(
                call, "InternalFailure", f"the snapmigrate lab could not follow {action}: {e}"
            ), True
        return self.rewrite(call, response), post is not None or failed is not None

    def reconcile(self, regions: set[str]) -> None:
        """Drop servers and copies whose cluster or snapshot moto no longer has (e.g.
        after a reset)."""
        for region in regions:
            rds = self._rds(region)
            clusters = {c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]}
            snapshots = {
                s["DBClusterSnapshotIdentifier"]
                for s in rds.describe_db_cluster_snapshots()["DBClusterSnapshots"]
            }
            for r, cluster_id in list(self.plane.servers):
                if r == region and cluster_id not in clusters:
                    self.plane.delete(region, cluster_id)
            for r, snapshot_id in list(self.plane.copies):
                if r == region and snapshot_id not in snapshots:
                    self.plane.delete_snapshot(region, snapshot_id)

    def rewrite(self, call: AwsCall, response: Response) -> Response:
        answers = Answers(self.names, self.realism, self.topology, self.history)
        answer = answers.rewrite(call, response)
        if not answer.ok:
            return answer
        return answer.with_body(planeview.show(answer.body, self.plane, call.region))

"""The clone's workflow: its steps in the order they run."""

from __future__ import annotations

from snapmigrate.clone.context import CloneBasis, CloneContext
from snapmigrate.clone.masking import MaskStep, ProofStep
from snapmigrate.clone.restore import InstancesStep, RestoreStep
from snapmigrate.workflow.step import Workflow

CLONE: Workflow[CloneBasis, CloneContext] = Workflow(
    "clone", (RestoreStep(), InstancesStep(), MaskStep(), ProofStep())
)

#: What every clone command reads: the source, the clones, engine facts, quotas, the caller.
READS = (
    "rds:DescribeDBClusters",
    "rds:DescribeDBInstances",
    "rds:DescribeDBClusterSnapshots",
    "rds:DescribeDBEngineVersions",
    "rds:DescribeDBMajorEngineVersions",
    "rds:DescribeAccountAttributes",
    "sts:GetCallerIdentity",
)
#: ``extend``, ``protect``, ``unprotect`` (and the readiness tag): the lease is in tags.
LEASE = ("rds:AddTagsToResource", "rds:RemoveTagsFromResource")
#: ``destroy``, ``gc``, ``reset`` and a failed create. A cluster not declared disposable
#: keeps a final snapshot, which DeleteDBCluster takes with CreateDBClusterSnapshot.
DESTROY = (
    "rds:DeleteDBInstance",
    "rds:DeleteDBCluster",
    "rds:CreateDBClusterSnapshot",
)

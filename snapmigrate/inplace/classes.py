"""The provisioned instance class a Serverless v1 cluster is converted to.

"If you don't provide a DB instance class for your converted DB cluster, Aurora
recommends one based on the maximum capacity of the original Aurora Serverless
v1 DB cluster" -- AWS's table, maximum ACUs to class:
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless.modifying.html#aurora-serverless.modifying.convert
"""

from __future__ import annotations

#: Serverless v1 maximum capacity (ACUs) -> the recommended provisioned class.
BY_MAX_CAPACITY: tuple[tuple[float, str], ...] = (
    (1, "db.t3.small"),
    (2, "db.t3.medium"),
    (4, "db.t3.large"),
    (8, "db.r5.large"),
    (16, "db.r5.xlarge"),
    (32, "db.r5.2xlarge"),
    (64, "db.r5.4xlarge"),
    (128, "db.r5.8xlarge"),
    (192, "db.r5.12xlarge"),
    (256, "db.r5.16xlarge"),
    (384, "db.r5.24xlarge"),
)


def interim_class(max_capacity: float | str | None) -> str:
    """The class AWS recommends for a v1 cluster of this maximum capacity (the smallest
    row that holds it; the largest for anything above)."""
    acus = float(max_capacity) if max_capacity not in (None, "") else BY_MAX_CAPACITY[-1][0]
    return next((klass for top, klass in BY_MAX_CAPACITY if acus <= top), BY_MAX_CAPACITY[-1][1])

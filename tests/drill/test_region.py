"""``--to-region``'s snapshot copy on moto: AWS's five copies in flight per
destination region are waited for, and a SnapshotQuotaExceeded answer is waited
out, not a failure."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import botocore.exceptions
import pytest

from snapmigrate.aws import Aws, AwsSettings, Clients
from snapmigrate.drill import region
from snapmigrate.errors import BadInput
from snapmigrate.progress import NullProgress
from snapmigrate.waiting import Waiter, WaitPolicy
from tests.migrate.conftest import FakeClock

POLICY = WaitPolicy(timeout_s=600, first_delay_s=1, max_delay_s=5, jitter=0)


def _source_snapshot(clients: Clients) -> str:
    rds = clients.rds()
    rds.create_db_cluster(
        DBClusterIdentifier="src", Engine="aurora-postgresql", EngineVersion="15.4",
        MasterUsername="admin", MasterUserPassword="secret123",
    )  # fmt: skip
    snap = rds.create_db_cluster_snapshot(
        DBClusterSnapshotIdentifier="src-snap", DBClusterIdentifier="src"
    )
    return str(snap["DBClusterSnapshot"]["DBClusterSnapshotArn"])


def _copy(dest: Aws, clock: FakeClock, arn: str) -> dict[str, Any]:
    waiter = Waiter(clock=clock, progress=NullProgress())
    return region.copy_snapshot(
        dest, waiter, POLICY, source_arn=arn, source_region="us-east-1", target="drill-snap",
        kms_key=None, tags={"snapmigrate:drill": "0123abcd"},
    )  # fmt: skip


def test_a_copy_waits_while_five_are_in_flight(
    clients: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = _source_snapshot(clients)
    dest = Aws(Clients(AwsSettings(region="us-west-2")))
    busy = iter([5, 6, 5, 4])
    monkeypatch.setattr(region, "copies_in_flight", lambda aws: next(busy))
    clock = FakeClock()
    copied = _copy(dest, clock, arn)
    assert copied["DBClusterSnapshotIdentifier"] == "drill-snap"
    assert len(clock.sleeps) >= 3 and next(busy, None) is None  # asked until a slot was free
    assert region.delete_copy(dest, "drill-snap", ("snapmigrate:drill", "0123abcd")) == "drill-snap"


def test_a_quota_answer_is_waited_out(clients: Clients, monkeypatch: pytest.MonkeyPatch) -> None:
    arn = _source_snapshot(clients)
    dest = Aws(Clients(AwsSettings(region="us-west-2")))
    real = dest.rds().copy_db_cluster_snapshot
    refusals = [1, 1]

    def copy(**params: Any) -> Any:
        if refusals:
            refusals.pop()
            error = {"Error": {"Code": "SnapshotQuotaExceeded", "Message": "5 in progress"}}
            raise botocore.exceptions.ClientError(error, "CopyDBClusterSnapshot")
        return real(**params)

    fake = SimpleNamespace(
        copy_db_cluster_snapshot=copy,
        describe_db_cluster_snapshots=dest.clients.rds().describe_db_cluster_snapshots,
    )
    monkeypatch.setattr(dest, "rds", lambda: fake)
    clock = FakeClock()
    assert _copy(dest, clock, arn)["DBClusterSnapshotIdentifier"] == "drill-snap"
    assert refusals == [] and len(clock.sleeps) >= 2


@pytest.mark.parametrize(
    ("encrypted", "key", "why"),
    [
        (True, None, "snapshot s1 is encrypted: a copy to us-west-2 needs --kms-key"),
        (False, "arn:aws:kms:us-west-2:123456789012:key/k", "is not encrypted: .* drop --kms-key"),
    ],
)
def test_a_copy_aws_would_refuse_for_its_key_is_bad_input(
    encrypted: bool, key: str | None, why: str
) -> None:
    with pytest.raises(BadInput, match=why) as raised:
        region.check_encryption("s1", encrypted, key, "us-west-2")
    assert raised.value.exit_code == 2

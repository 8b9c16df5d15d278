"""Seed moto with source clusters of each kind the preflight must handle."""

from __future__ import annotations

from typing import Any

PASSWORD = "not-a-real-secret-1"


def v1_cluster(
    rds: Any, identifier: str = "legacy", version: str = "13.12", **overrides: Any
) -> dict[str, Any]:
    """An Aurora Serverless v1 PostgreSQL cluster (scaling 2-4 ACU, auto-pause)."""
    params: dict[str, Any] = {
        "DBClusterIdentifier": identifier,
        "Engine": "aurora-postgresql",
        "EngineVersion": version,
        "EngineMode": "serverless",
        "MasterUsername": "postgres",
        "MasterUserPassword": PASSWORD,
        "ScalingConfiguration": {
            "MinCapacity": 2,
            "MaxCapacity": 4,
            "AutoPause": True,
            "SecondsUntilAutoPause": 300,
        },
        "StorageEncrypted": True,
        "DeletionProtection": True,
        "BackupRetentionPeriod": 7,
        "Tags": [{"Key": "team", "Value": "data"}],
    }
    params.update(overrides)
    return rds.create_db_cluster(**params)["DBCluster"]


def provisioned_cluster(
    rds: Any,
    identifier: str = "prov",
    version: str = "15.4",
    instance_class: str = "db.r6g.xlarge",
    **overrides: Any,
) -> dict[str, Any]:
    """A provisioned Aurora PostgreSQL cluster with one writer instance."""
    params: dict[str, Any] = {
        "DBClusterIdentifier": identifier,
        "Engine": "aurora-postgresql",
        "EngineVersion": version,
        "MasterUsername": "postgres",
        "MasterUserPassword": PASSWORD,
        "StorageEncrypted": False,
        "EnableCloudwatchLogsExports": ["postgresql"],
    }
    params.update(overrides)
    cluster = rds.create_db_cluster(**params)["DBCluster"]
    rds.create_db_instance(
        DBInstanceIdentifier=f"{identifier}-1",
        DBClusterIdentifier=identifier,
        Engine="aurora-postgresql",
        DBInstanceClass=instance_class,
        AvailabilityZone="us-east-1b",
    )
    return cluster


def v2_cluster(rds: Any, identifier: str = "already", version: str = "16.3") -> dict[str, Any]:
    """A cluster already on Serverless v2."""
    cluster = rds.create_db_cluster(
        DBClusterIdentifier=identifier,
        Engine="aurora-postgresql",
        EngineVersion=version,
        MasterUsername="postgres",
        MasterUserPassword=PASSWORD,
        ServerlessV2ScalingConfiguration={
            "MinCapacity": 0,
            "MaxCapacity": 8,
            "SecondsUntilAutoPause": 600,
        },
    )["DBCluster"]
    rds.create_db_instance(
        DBInstanceIdentifier=f"{identifier}-1",
        DBClusterIdentifier=identifier,
        Engine="aurora-postgresql",
        DBInstanceClass="db.serverless",
    )
    return cluster


def mysql_cluster(rds: Any, identifier: str = "mysql1") -> dict[str, Any]:
    return rds.create_db_cluster(
        DBClusterIdentifier=identifier,
        Engine="aurora-mysql",
        EngineVersion="5.7.mysql_aurora.2.11.2",
        EngineMode="serverless",
        MasterUsername="admin",
        MasterUserPassword=PASSWORD,
        ScalingConfiguration={"MinCapacity": 1, "MaxCapacity": 8},
    )["DBCluster"]

"""Route 53 record swaps (plain, weighted, private) and cluster renames, on moto."""

from __future__ import annotations

import boto3
import pytest

from snapmigrate.aws import Aws, route53
from snapmigrate.aws.rds import rename_cluster
from snapmigrate.errors import BadInput

OLD = "old.cluster-aaa.us-east-1.rds.amazonaws.com"
NEW = "new.cluster-bbb.us-east-1.rds.amazonaws.com"


@pytest.fixture
def aws(clients) -> Aws:
    return Aws.of(clients)


@pytest.fixture
def zone(moto):
    r53 = boto3.client("route53")
    return r53, r53.create_hosted_zone(Name="example.com", CallerReference="z")["HostedZone"][
        "Id"
    ].split("/")[-1]


def put(r53, zone_id, **rrset):
    base = {
        "Name": "db.example.com",
        "Type": "CNAME",
        "TTL": 300,
        "ResourceRecords": [{"Value": OLD}],
    }
    base.update(rrset)
    r53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": base}]},
    )


def test_plain_record_swap_and_back(aws, zone):
    r53, zone_id = zone
    put(r53, zone_id)
    before = route53.record_for(aws, zone_id, "db.example.com", OLD)
    assert (before.value, before.ttl) == (OLD, 300)
    change = route53.upsert(aws, before, NEW)
    assert route53.change_statuses(aws, [change])[change].status == "INSYNC"
    assert route53.record_for(aws, zone_id, "db.example.com", NEW).value == NEW
    route53.upsert(aws, route53.Record.from_dict(before.to_dict()), before.value)
    assert route53.find_records(aws, zone_id, "db.example.com")[0].value == OLD


def test_weighted_set_swaps_only_the_member_pointing_at_the_source(aws, zone):
    r53, zone_id = zone
    put(r53, zone_id, SetIdentifier="blue", Weight=100)
    put(
        r53,
        zone_id,
        SetIdentifier="canary",
        Weight=0,
        ResourceRecords=[{"Value": "other.example.net"}],
    )
    chosen = route53.record_for(aws, zone_id, "db.example.com", OLD)
    assert chosen.set_identifier == "blue" and chosen.weight == 100
    route53.upsert(aws, chosen, NEW)
    values = {
        r.set_identifier: r.value for r in route53.find_records(aws, zone_id, "db.example.com")
    }
    assert values == {"blue": NEW, "canary": "other.example.net"}
    with pytest.raises(BadInput, match="set identifier"):
        route53.record_for(aws, zone_id, "db.example.com", OLD, set_identifier="green")


def test_missing_record_is_bad_input(aws, zone):
    _, zone_id = zone
    with pytest.raises(BadInput, match="does not exist"):
        route53.record_for(aws, zone_id, "db.example.com", OLD)


def test_private_zone_records_swap_too(aws, moto):
    r53 = boto3.client("route53")
    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    zone_id = r53.create_hosted_zone(
        Name="internal",
        CallerReference="p",
        HostedZoneConfig={"PrivateZone": True},
        VPC={"VPCRegion": "us-east-1", "VPCId": vpc},
    )["HostedZone"]["Id"].split("/")[-1]
    put(r53, zone_id, Name="db.internal")
    record = route53.record_for(aws, zone_id, "db.internal", OLD)
    route53.upsert(aws, record, NEW, ttl=5)
    after = route53.find_records(aws, zone_id, "db.internal")[0]
    assert (after.value, after.ttl) == (NEW, 5)


def test_rename_moves_the_identifier(aws, moto):
    rds = boto3.client("rds")
    rds.create_db_cluster(
        DBClusterIdentifier="blue",
        Engine="aurora-postgresql",
        MasterUsername="u",
        MasterUserPassword="p" * 10,
    )
    rename_cluster(aws, "blue", "blue-old-12345678")
    ids = [c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]]
    assert ids == ["blue-old-12345678"]


def test_a_swap_keeps_every_field_of_the_record_set_but_its_value():
    """Every field of botocore's ResourceRecordSet shape is either the Record's own or
    kept as it was: the UPSERT changes only the value."""
    import botocore.session

    members = set(
        botocore.session.get_session()
        .get_service_model("route53")
        .shape_for("ResourceRecordSet")
        .members
    )
    assert set(route53.kept_keys()) | set(route53.OWN_KEYS) == members
    assert {"GeoLocation", "GeoProximityLocation", "CidrRoutingConfig", "Failover"} <= set(
        route53.kept_keys()
    )
    rrset = {
        "Name": "db.example.com.",
        "Type": "CNAME",
        "TTL": 60,
        "ResourceRecords": [{"Value": OLD}],
        "SetIdentifier": "eu",
        "GeoLocation": {"ContinentCode": "EU"},
        "GeoProximityLocation": {"AWSRegion": "eu-west-1", "Bias": 10},
        "CidrRoutingConfig": {"CollectionId": "c-1", "LocationName": "office"},
        "HealthCheckId": "hc-1",
        "MultiValueAnswer": False,
    }
    record = route53._record("Z1", rrset)
    journaled = route53.Record.from_dict(record.to_dict())
    assert journaled.to_api(value=NEW) == {**rrset, "ResourceRecords": [{"Value": NEW}]}


def test_a_geolocation_record_keeps_its_location_through_the_swap(aws, zone):
    r53, zone_id = zone
    put(r53, zone_id, SetIdentifier="europe", GeoLocation={"ContinentCode": "EU"})
    put(
        r53,
        zone_id,
        SetIdentifier="rest",
        GeoLocation={"CountryCode": "*"},
        ResourceRecords=[{"Value": "other.example.com"}],
    )
    record = route53.record_for(aws, zone_id, "db.example.com", OLD)
    assert record.set_identifier == "europe"
    route53.upsert(aws, record, NEW)
    sets = {
        rs["SetIdentifier"]: rs
        for rs in r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
        if rs["Type"] == "CNAME"
    }
    assert sets["europe"]["GeoLocation"] == {"ContinentCode": "EU"}
    assert sets["europe"]["ResourceRecords"] == [{"Value": NEW}]
    assert sets["rest"]["ResourceRecords"] == [{"Value": "other.example.com"}]


def test_an_alias_record_is_refused_with_what_to_do(aws, zone):
    record = route53.Record("Z1", "db.example.com.", "", 60, extra={"AliasTarget": {}})
    with pytest.raises(BadInput, match="is an alias record"):
        route53._swappable(record)

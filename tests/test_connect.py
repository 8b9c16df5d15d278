"""Reaching databases: URIs, cluster ids, the connect map, clear errors without secrets."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from snapmigrate.aws import AwsSettings, Clients
from snapmigrate.connectmap import ConnectMap, write
from snapmigrate.db import connect as dbc
from snapmigrate.errors import BadInput, ConnectError
from snapmigrate_lab.postgres import PgServer, free_port, running

SECRET = "s3cr3t-Pa55"


@pytest.fixture(scope="module")
def server():
    with running(user="master", password=SECRET) as pg:
        yield pg


@pytest.mark.slow
def test_uri_connects(server: PgServer):
    ep = dbc.resolve(server.dsn(), "source")
    with dbc.connect(ep) as conn:
        assert conn.execute("select current_user").fetchone() == ("master",)


@pytest.mark.slow
def test_connect_map_routes_an_aws_endpoint_to_the_local_server(server: PgServer, tmp_path: Path):
    host = "legacy.cluster-abc.us-east-1.rds.amazonaws.com"
    path = tmp_path / "map.json"
    write(path, {f"{host}:5432": f"127.0.0.1:{server.port}"})
    ep = dbc.Endpoint("target", host, 5432, user="master", password=SECRET, sslmode="disable")
    with dbc.connect(ep, "postgres", connect_map=ConnectMap.load(path)) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
    # AWS hosts default to TLS
    assert dbc.Endpoint("x", host).connect_kwargs()["sslmode"] == "require"
    assert (
        dbc.Endpoint("x", host, sslrootcert="/ca.pem").connect_kwargs()["sslmode"] == "verify-full"
    )
    assert "sslmode" not in dbc.Endpoint("x", "127.0.0.1").connect_kwargs()


@pytest.mark.slow
def test_wrong_password_names_the_side_and_hides_the_password(server: PgServer):
    ep = dbc.Endpoint(
        "target",
        "127.0.0.1",
        server.port,
        dbname="postgres",
        user="master",
        password="wrong-" + SECRET,
    )
    with pytest.raises(ConnectError) as err:
        dbc.connect(ep)
    text = str(err.value)
    assert text.startswith("cannot connect to the target (127.0.0.1:")
    assert "password authentication failed" in text
    assert SECRET not in text
    assert err.value.exit_code == 2


@pytest.mark.slow
def test_unreachable_host_and_unknown_database(server: PgServer):
    ep = dbc.Endpoint("source", "127.0.0.1", free_port(), user="master", password=SECRET)
    with pytest.raises(ConnectError, match="cannot connect to the source"):
        dbc.connect(ep, "postgres", timeout=2)
    ep = dbc.Endpoint("source", "127.0.0.1", server.port, user="master", password=SECRET)
    with pytest.raises(ConnectError, match='database "nope" does not exist'):
        dbc.connect(ep, "nope")


def test_bad_uri_and_bad_map(tmp_path: Path):
    with pytest.raises(BadInput, match="not a valid PostgreSQL URI"):
        dbc.resolve("postgresql://u@h:notaport/db x=", "source")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(["x"]))
    with pytest.raises(BadInput, match="connect map"):
        ConnectMap.load(bad)
    with pytest.raises(BadInput, match="does not exist"):
        ConnectMap.load(tmp_path / "absent.json")


def test_cluster_id_uses_the_managed_secret(moto: None):
    rds = boto3.client("rds")
    rds.create_db_cluster(
        DBClusterIdentifier="db1",
        Engine="aurora-postgresql",
        EngineVersion="15.4",
        MasterUsername="admin",
        ManageMasterUserPassword=True,
    )
    ep = dbc.resolve("db1", "source", lambda: Clients(AwsSettings(region="us-east-1")))
    assert ep.cluster_id == "db1" and ep.host.startswith("db1.cluster-")
    assert ep.user and ep.password  # from Secrets Manager
    assert ep.password not in repr(ep)


def test_cluster_id_with_iam_auth_gets_a_token(moto: None):
    rds = boto3.client("rds")
    rds.create_db_cluster(
        DBClusterIdentifier="db2",
        Engine="aurora-postgresql",
        EngineVersion="15.4",
        MasterUsername="admin",
        MasterUserPassword="x" * 12,
    )
    ep = dbc.resolve(
        "db2", "target", lambda: Clients(AwsSettings(region="us-east-1")), iam_auth=True
    )
    assert ep.password and "X-Amz-Signature" in ep.password

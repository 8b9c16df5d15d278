"""Reach a database: a PostgreSQL URI or an Aurora cluster identifier, through
the connect map, with credentials from Secrets Manager, an IAM token, or the
usual libpq environment / pgpass.

Errors become :class:`ConnectError` naming the side ("source"/"target"), the
host and the reason -- never the password.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from snapmigrate.connectmap import ConnectMap
from snapmigrate.db.dialect import Dialect
from snapmigrate.errors import BadInput, ConnectError, NotFound

if TYPE_CHECKING:
    from snapmigrate.aws import Aws, Clients

AWS_HOST_SUFFIXES = (".rds.amazonaws.com", ".rds.amazonaws.com.cn")
URI_PREFIXES = ("postgresql://", "postgres://")


@dataclass(frozen=True)
class Endpoint:
    """Where a database is, as clients name it, and how to log in."""

    label: str
    host: str
    port: int = 5432
    dbname: str | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    sslmode: str | None = None
    sslrootcert: str | None = None
    cluster_id: str | None = None
    options: tuple[tuple[str, str], ...] = ()

    @property
    def is_aws(self) -> bool:
        return self.host.endswith(AWS_HOST_SUFFIXES)

    def describe(self, dbname: str | None = None) -> str:
        """``label host:port/db`` for messages (no credentials)."""
        db = dbname or self.dbname
        where = f"{self.host}:{self.port}" + (f"/{db}" if db else "")
        return f"{self.label} ({self.cluster_id + ', ' if self.cluster_id else ''}{where})"

    def with_db(self, dbname: str) -> Endpoint:
        return replace(self, dbname=dbname)

    def connect_kwargs(
        self, dbname: str | None = None, connect_map: ConnectMap | None = None
    ) -> dict[str, Any]:
        """psycopg ``connect()`` keywords, the connect map applied.

        A mapped endpoint keeps its name in ``host`` (TLS checks, pgpass) and
        dials the mapped address through ``hostaddr``.
        """
        kwargs: dict[str, Any] = {"host": self.host, "port": self.port}
        dial_host, dial_port = (connect_map or ConnectMap()).resolve(self.host, self.port)
        if (dial_host, dial_port) != (self.host, self.port):
            kwargs["hostaddr"] = _ip_of(dial_host)
            kwargs["port"] = dial_port
        db = dbname or self.dbname
        if db:
            kwargs["dbname"] = db
        if self.user:
            kwargs["user"] = self.user
        if self.password is not None:
            kwargs["password"] = self.password
        # TLS by default towards AWS; an explicit PGSSLMODE (libpq's own variable)
        # wins over that default.
        aws_default = os.environ.get("PGSSLMODE") or "require"
        sslmode = self.sslmode or (
            "verify-full" if self.sslrootcert else aws_default if self.is_aws else None
        )
        if sslmode:
            kwargs["sslmode"] = sslmode
        if self.sslrootcert:
            kwargs["sslrootcert"] = self.sslrootcert
        kwargs.update(dict(self.options))
        return kwargs


def _ip_of(host: str) -> str:
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    try:
        return str(socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)[0][4][0])
    except OSError as e:
        raise BadInput(f"connect map target {host!r} does not resolve: {e}") from None


def is_uri(spec: str) -> bool:
    return spec.startswith(URI_PREFIXES) or "=" in spec


def from_uri(spec: str, label: str) -> Endpoint:
    """An :class:`Endpoint` from a libpq URI or ``key=value`` conninfo."""
    try:
        params = {k: str(v) for k, v in conninfo_to_dict(spec).items() if v is not None}
    except Exception as e:
        raise BadInput(
            f"the {label} is not a valid PostgreSQL URI: {_scrub(str(e), None)}"
        ) from None
    host = params.pop("host", "") or os.environ.get("PGHOST", "localhost")
    try:
        port = int(params.pop("port", "") or os.environ.get("PGPORT", "5432"))
    except ValueError:
        raise BadInput(f"the {label} URI has a bad port") from None
    return Endpoint(
        label=label,
        host=host,
        port=port,
        dbname=params.pop("dbname", None),
        user=params.pop("user", None),
        password=params.pop("password", None),
        sslmode=params.pop("sslmode", None),
        sslrootcert=params.pop("sslrootcert", None),
        options=tuple(sorted(params.items())),
    )


def from_cluster(
    clients: Clients | Aws,
    cluster_id: str,
    label: str,
    *,
    iam_auth: bool = False,
    user: str | None = None,
    reader: bool = False,
    ca_bundle: str | None = None,
) -> Endpoint:
    """An :class:`Endpoint` for an Aurora cluster: its writer (or reader) endpoint
    and credentials from its managed secret, an IAM token, or libpq's own ways."""
    # The AWS layer only when a cluster is named: verify of two URIs starts without it.
    from snapmigrate.aws import Aws, rds

    aws = Aws.of(clients)
    cluster = rds.find_cluster(aws, cluster_id)
    if cluster is None:
        raise NotFound(f"the {label} cluster {cluster_id!r} was not found in {aws.region}")
    host = cluster.get("ReaderEndpoint" if reader else "Endpoint")
    if not host:
        raise ConnectError(
            f"the {label} cluster {cluster_id} has no endpoint yet (status {cluster.get('Status')})"
        )
    port = int(cluster.get("Port") or 5432)
    login = user or cluster.get("MasterUsername")
    password: str | None = None
    secret_arn = (cluster.get("MasterUserSecret") or {}).get("SecretArn")
    if iam_auth:
        password = aws.call(
            f"generate an IAM auth token for the {label}",
            aws.rds().generate_db_auth_token,
            DBHostname=host,
            Port=port,
            DBUsername=login,
        )
    elif secret_arn and not user:
        login, password = read_secret(aws, secret_arn, label)
    return Endpoint(
        label=label,
        host=host,
        port=port,
        user=login,
        password=password,
        sslrootcert=ca_bundle,
        cluster_id=cluster_id,
    )


def read_secret(aws: Aws, secret_arn: str, label: str) -> tuple[str | None, str | None]:
    """(username, password) from a Secrets Manager secret of the RDS shape."""
    value = aws.call(
        f"read the {label}'s master secret",
        aws.secretsmanager().get_secret_value,
        SecretId=secret_arn,
    )
    try:
        data = json.loads(value.get("SecretString") or "{}")
    except ValueError:
        raise ConnectError(
            f"the {label}'s master secret is not JSON with username/password"
        ) from None
    return data.get("username"), data.get("password")


def resolve(
    spec: str,
    label: str,
    clients: Callable[[], Clients] | None = None,
    *,
    iam_auth: bool = False,
    ca_bundle: str | None = None,
) -> Endpoint:
    """A URI or a cluster identifier -> :class:`Endpoint`. ``clients`` is only
    called (and AWS only reached) for a cluster identifier."""
    if is_uri(spec):
        ep = from_uri(spec, label)
        return replace(ep, sslrootcert=ep.sslrootcert or ca_bundle)
    if clients is None:
        raise BadInput(f"the {label} {spec!r} is not a PostgreSQL URI (postgresql://...)")
    return from_cluster(clients(), spec, label, iam_auth=iam_auth, ca_bundle=ca_bundle)


def connect(
    endpoint: Endpoint,
    dbname: str | None = None,
    *,
    connect_map: ConnectMap | None = None,
    autocommit: bool = True,
    timeout: int = 10,
    application_name: str = "snapmigrate",
) -> psycopg.Connection[Any]:
    """Open a connection; failures become :class:`ConnectError` with the side named."""
    kwargs = endpoint.connect_kwargs(dbname, connect_map.reload() if connect_map else None)
    kwargs.setdefault("connect_timeout", timeout)
    kwargs.setdefault("application_name", application_name)
    try:
        return psycopg.connect(autocommit=autocommit, **kwargs)
    except psycopg.OperationalError as e:
        raise ConnectError(
            "cannot connect to "
            f"the {endpoint.describe(dbname)}: {_scrub(_first_line(e), endpoint.password)}"
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # libpq prefixes every attempt with 'connection to server at ... failed:'
    for line in lines:
        if "failed:" in line:
            return line.split("failed:", 1)[1].strip()
    return lines[0] if lines else type(exc).__name__


def _scrub(text: str, password: str | None) -> str:
    if password:
        text = text.replace(password, "***")
    return text


def list_databases(endpoint: Endpoint, *, connect_map: ConnectMap | None = None) -> list[str]:
    """The user databases of a server: not templates, not ``rdsadmin``; ``postgres`` included
    (Aurora's default database, where users do keep data)."""
    first = endpoint.dbname or "postgres"
    try:
        conn = connect(endpoint, first, connect_map=connect_map)
    except ConnectError as e:
        if endpoint.dbname or "does not exist" not in str(e):
            raise
        conn = connect(endpoint, "template1", connect_map=connect_map)
    with conn:
        query = Dialect.list_databases()
        try:
            return [row[0] for row in conn.execute(query.text).fetchall()]
        except psycopg.Error as e:
            raise ConnectError(
                f"cannot list the databases of the {endpoint.describe()}: {_first_line(e)}"
            ) from None

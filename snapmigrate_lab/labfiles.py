"""What the lab directory's files say, drawn from moto's state and the data plane.

The connect map routes each endpoint of a served cluster (and each Route 53
record name that points at one) to the local relay of what it reaches, and
tells one lab server how to reach another's endpoint; pgpass has a login for
every such name and port; lab.json lists the servers, the readers, the
snapshot copies and what the data plane noted. :class:`~snapmigrate_lab.glue.LabApp`
writes them (:mod:`snapmigrate_lab.state`) after every call that may change them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from snapmigrate_lab.dataplane import DataPlane
from snapmigrate_lab.dns import dns_routes
from snapmigrate_lab.state import Login, ServerInfo

if TYPE_CHECKING:
    from snapmigrate_lab.rds import RdsGlue


def endpoints(glue: RdsGlue, regions: set[str]) -> tuple[dict[str, str], list[Login]]:
    """The connect map (each endpoint of a served cluster -> the relay to what it
    reaches: the writer, the readers in turn, the instance's own server) and pgpass."""
    routes: dict[str, str] = {}
    logins: list[Login] = []
    for region in sorted(regions):
        rds = glue.inner.rds(region)
        clusters = rds.describe_db_clusters()["DBClusters"]
        instances = rds.describe_db_instances()["DBInstances"]
        for cluster in clusters:
            cluster_id = cluster["DBClusterIdentifier"]
            if not glue.plane.has_server(region, cluster_id):
                continue
            server = glue.plane.server(region, cluster_id)
            hosts: dict[str, int] = {}
            owned = {
                inst["DBInstanceIdentifier"]: inst.get("Endpoint", {}).get("Address")
                for inst in instances
                if (
                    glue.topology.cluster_of(region, inst["DBInstanceIdentifier"])
                    or inst.get("DBClusterIdentifier")
                )
                == cluster_id
            }
            reader, ports = glue.plane.replicas.endpoints(region, cluster_id, owned)
            # A renamed cluster's endpoint names resolve only after the knob's delay.
            if not glue.history.names_pending(region, cluster_id):
                writer = glue.plane.endpoint_port(region, cluster_id)
                hosts[cluster.get("Endpoint") or ""] = writer
                hosts[cluster.get("ReaderEndpoint") or ""] = reader
            hosts.update({str(host): ports[i] for i, host in owned.items() if host})
            port = int(cluster.get("Port") or 5432)
            for host, local in hosts.items():
                if not host:
                    continue
                name = glue.names.host(host)
                routes[f"{name}:{port}"] = f"127.0.0.1:{local}"
                logins.append(Login(name, str(local), server.user, server.password))
            local_ports = {*hosts.values(), server.port}
            local_ports |= {r.server.port for r in glue.plane.replicas.of(region, cluster_id)}
            for local in sorted(local_ports):
                logins.append(Login("127.0.0.1", str(local), server.user, server.password))
            logins.append(Login("*", "*", server.user, server.password))
    return routes, logins


def record_names(route53: Any, routes: dict[str, str], logins: list[Login]) -> None:
    """Add the Route 53 record names that point at a served endpoint to ``routes``; each
    logs in like the endpoint it points at (libpq matches pgpass by name)."""
    names = dns_routes(route53, routes)
    routes.update(names)
    local = {(login.host, login.port): login for login in logins if login.host == "127.0.0.1"}
    for key, target in names.items():
        found = local.get(tuple(target.rsplit(":", 1)))  # type: ignore[arg-type]
        if found is not None:
            logins.insert(0, Login(key.rsplit(":", 1)[0], found.port, found.user, found.password))


def server_routes(plane: DataPlane, routes: dict[str, str]) -> dict[str, str]:
    """How one lab server reaches another's endpoint (a subscription): the plain
    server port -- the servers resolve no AWS names and their libpq has no TLS."""
    plain = {
        f"127.0.0.1:{plane.endpoint_port(region, cluster_id)}": f"127.0.0.1:{s.port}"
        for (region, cluster_id), s in plane.servers.items()
    }
    return {key: plain[local] for key, local in routes.items() if local in plain}


def servers(plane: DataPlane) -> tuple[ServerInfo, ...]:
    """lab.json's servers: each cluster's (writer's) server."""
    return tuple(
        ServerInfo(
            cluster_id=cluster_id,
            region=region,
            port=s.port,
            endpoint_port=plane.endpoint_port(region, cluster_id),
            datadir=str(s.datadir),
            user=s.user,
            pid=s.pid(),
            version=_version(plane, region, cluster_id),
        )
        for (region, cluster_id), s in sorted(plane.servers.items())
    )


def readers(plane: DataPlane) -> tuple[ServerInfo, ...]:
    """lab.json's readers: each reader instance's replica."""
    return tuple(
        ServerInfo(
            cluster_id=r.cluster_id,
            region=region,
            port=r.server.port,
            endpoint_port=plane.replicas.instance_ports.get((region, instance_id)),
            datadir=str(r.server.datadir),
            user=r.server.user,
            pid=r.server.pid(),
            version=_version(plane, region, r.cluster_id),
            instance_id=instance_id,
        )
        for (region, instance_id), r in sorted(plane.replicas.by.items())
    )


def postgres_notes(plane: DataPlane) -> dict[str, Any]:
    """lab.json's ``notes.postgres``: the majors' policy and what the data plane did."""
    return {
        "policy": plane.builds.policy,
        "warnings": plane.warnings,
        "upgrades": [u.__dict__ for u in plane.upgrades],
        "failovers": [f.__dict__ for f in plane.failovers],
        "restores": [r.__dict__ for r in plane.restores],
    }


def snapshots(plane: DataPlane) -> tuple[str, ...]:
    """lab.json's snapshots: ``region/id`` of each snapshot copy."""
    return tuple(sorted(f"{r}/{i}" for r, i in plane.copies))


def _version(plane: DataPlane, region: str, cluster_id: str) -> str:
    facts = plane.facts.get((region, cluster_id))
    return facts.version if facts else ""

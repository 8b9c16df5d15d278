"""``verify``: two databases or clusters compared. Changes nothing."""

from __future__ import annotations

from collections.abc import Callable

from snapmigrate.commands.config import Config
from snapmigrate.db.connect import resolve
from snapmigrate.db.verify import VerifyOptions, VerifyResult
from snapmigrate.db.verify import verify as compare


def verify(
    config: Config,
    source: str,
    target: str,
    options: VerifyOptions,
    *,
    iam_auth: bool = False,
    ca_bundle: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> VerifyResult:
    """Compare ``target`` with ``source`` (each a PostgreSQL URI or a cluster id):
    schema, exact row counts, checksums bisected to the differing rows. Read-only."""
    connect_map = config.check_connect_map()
    src = resolve(source, "source", config.clients, iam_auth=iam_auth, ca_bundle=ca_bundle)
    tgt = resolve(target, "target", config.clients, iam_auth=iam_auth, ca_bundle=ca_bundle)
    return compare(src, tgt, options, connect_map=connect_map, progress=progress)

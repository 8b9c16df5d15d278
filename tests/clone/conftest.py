"""Clone tests: moto in-process for the control plane, the lab for the data.

``clone_source`` is a provisioned Aurora PostgreSQL cluster in the session lab
(it has an instance, so it can be cloned copy-on-write) holding the lab's seed
plus a table of people, their orders (a foreign key) and an audit table a
trigger writes: what masking is proven on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from snapmigrate.aws import AwsSettings, Clients
from snapmigrate.clone.context import CloneSettings
from snapmigrate.commands import Config
from snapmigrate.connectmap import ConnectMap
from snapmigrate.db.connect import Endpoint, connect, from_cluster
from tests.lab_fixtures import unique_id

PEOPLE_SQL = [
    """CREATE TABLE public.people (
        id integer PRIMARY KEY,
        name text NOT NULL,
        email varchar(80) UNIQUE,
        phone text,
        note text,
        city text NOT NULL,
        born date)""",
    """CREATE TABLE public.orders (
        id bigint PRIMARY KEY,
        person_id integer NOT NULL REFERENCES public.people (id),
        amount numeric(10, 2) NOT NULL)""",
    "CREATE TABLE public.people_audit (at timestamptz NOT NULL DEFAULT now(), old_email text)",
    """CREATE FUNCTION public.remember_email() RETURNS trigger LANGUAGE plpgsql AS
       $$ BEGIN INSERT INTO public.people_audit (old_email) VALUES (OLD.email);
          RETURN NEW; END $$""",
    """CREATE TRIGGER people_audit BEFORE UPDATE ON public.people
       FOR EACH ROW EXECUTE FUNCTION public.remember_email()""",
    """INSERT INTO public.people
       SELECT g, 'Person ' || g, 'person' || g || '@corp.example',
              '+1 (555) 01' || lpad(g::text, 4, '0'),
              CASE WHEN g % 3 = 0 THEN NULL ELSE 'likes ' || g % 7 END,
              (ARRAY['Oslo', 'Lyon', 'Porto'])[1 + g % 3], date '1970-01-01' + g
       FROM generate_series(1, 3000) AS g""",
    """INSERT INTO public.orders SELECT g, 1 + g % 3000, g % 500 + 0.5
       FROM generate_series(1, 6000) AS g""",
    "ANALYZE",
]

RULES = """\
[[mask]]
table = "public.people"
column = "email"
strategy = "email"

[[mask]]
table = "public.people"
column = "name"
strategy = "name"

[[mask]]
table = "public.people"
column = "phone"
strategy = "phone"

[[mask]]
table = "public.people"
column = "note"
strategy = "constant"
value = "redacted"

[[mask]]
table = "public.people"
column = "id"
strategy = "hash"

[[mask]]
table = "public.orders"
column = "person_id"
strategy = "hash"

[[empty]]
table = "public.audit_log"
"""


@dataclass
class Source:
    """A seeded, clonable source in the lab."""

    lab: Any
    cluster_id: str

    def endpoint(self, cluster_id: str | None = None) -> Endpoint:
        found = from_cluster(self.lab.clients(), cluster_id or self.cluster_id, "test")
        return replace(found, options=(("passfile", str(self.lab.pgpass_path)),))

    def query(self, sql: str, cluster_id: str | None = None) -> list[tuple[Any, ...]]:
        cmap = ConnectMap.load(self.lab.connect_map_path)
        with connect(self.endpoint(cluster_id), "app", connect_map=cmap) as conn:
            cur = conn.execute(sql)  # test text, no input
            return cur.fetchall() if cur.description else []

    def config(self, tmp_path: Path, now: Callable[[], datetime] | None = None) -> Config:
        return Config(
            _clients=self.lab.clients(),
            state_dir=str(tmp_path / "state"),
            connect_map=str(self.lab.connect_map_path),
            now=now,
        )

    def settings(self, **overrides: Any) -> CloneSettings:
        return CloneSettings(
            connect_map=str(self.lab.connect_map_path),
            first_delay_s=0.1,
            max_delay_s=0.5,
            timeout_s=300,
            batch_rows=700,
            **overrides,
        )


@pytest.fixture(scope="module")
def clone_source(lab: Any) -> Source:
    """A provisioned source (15.4, one instance) with the seed and the people tables."""
    cluster_id = unique_id("clsrc")
    lab.seed("provisioned", cluster_id=cluster_id, scale=1, dns=False)
    source = Source(lab, cluster_id)
    for statement in PEOPLE_SQL:
        source.query(statement)
    return source


def moto_clients() -> Clients:
    return Clients(AwsSettings(region="us-east-1"))

"""The load generator: keeps committing through errors, follows the connect map, proves no loss."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from snapmigrate import loadgen
from snapmigrate.connectmap import ConnectMap, write
from snapmigrate.db import freeze as fz
from snapmigrate.db.connect import Endpoint, resolve
from snapmigrate_lab.postgres import running
from tests.waits import wait_until

pytestmark = pytest.mark.slow  # real PostgreSQL servers, the lab, or a moto server

PW = "pw-load"
NAME = "db.app.internal"


@pytest.fixture(scope="module")
def pair():
    with running(user="master", password=PW) as a, running(user="master", password=PW) as b:
        yield a, b


def test_load_survives_a_freeze_and_follows_the_name_to_another_server(pair, tmp_path: Path):
    a, b = pair
    for server in (a, b):
        loadgen.ensure_table(resolve(server.dsn(), "x"), "postgres")
    path = tmp_path / "map.json"
    write(path, {f"{NAME}:5432": f"127.0.0.1:{a.port}"})
    cmap = ConnectMap.load(path)
    ep = Endpoint("load", NAME, 5432, user="master", password=PW)
    run = loadgen.LoadRun(
        ep, "postgres", loadgen.LoadOptions(workers=2, rate_per_worker=100), connect_map=cmap
    ).start()
    seen = run.result
    wait_until("commits on the first server", lambda: len(seen.committed) >= 20)
    record = fz.freeze(resolve(a.dsn(), "source"), ["postgres"])
    frozen = time.monotonic()  # no write commits anywhere from here until the swap
    wait_until("the frozen server to refuse writes", lambda: seen.errors >= 3)
    before_swap = len(seen.committed)
    write(path, {f"{NAME}:5432": f"127.0.0.1:{b.port}"})  # the "swap"
    swapped = time.monotonic()
    wait_until("commits on the second server", lambda: len(seen.committed) >= before_swap + 20)
    result = run.stop_and_collect()
    fz.unfreeze(resolve(a.dsn(), "source"), record)

    assert result.errors > 0
    # the window runs from the last commit before the freeze to the first after the swap
    assert result.windows and swapped - frozen <= result.longest_unavailability_s < 3
    on_a = loadgen.check_committed(resolve(a.dsn(), "a"), "postgres", result.committed)
    on_b = loadgen.check_committed(resolve(b.dsn(), "b"), "postgres", result.committed)
    assert on_a.present > 0 and on_b.present > 0
    assert on_a.present + on_b.present == len(result.committed)  # every commit is somewhere, once
    served = {r for r in a.psql("SELECT DISTINCT served_by FROM snapmigrate_load").split()}
    served |= {r for r in b.psql("SELECT DISTINCT served_by FROM snapmigrate_load").split()}
    assert len(served) == 2
    assert result.to_dict()["committed"] == len(result.committed)


def test_check_committed_finds_missing_ids(pair):
    a, _ = pair
    ep = resolve(a.dsn(), "a")
    loadgen.ensure_table(ep, "postgres")
    a.psql("INSERT INTO snapmigrate_load (id, worker) VALUES (990001, 0) ON CONFLICT DO NOTHING")
    check = loadgen.check_committed(ep, "postgres", [990001, 990002])
    assert (check.present, check.missing) == (1, (990002,))

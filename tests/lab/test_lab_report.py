"""What ``lab up`` prints of a running lab: its writers and its readers."""

from __future__ import annotations

from snapmigrate_lab import UpResult
from snapmigrate_lab.report import up_table
from snapmigrate_lab.state import LabState, ServerInfo


def test_the_servers_table_lists_each_reader_under_its_cluster():
    writer = ServerInfo("shop", "us-east-1", 5001, "/d/clusters/0001-shop", "postgres", 6001)
    reader = ServerInfo(
        "shop", "us-east-1", 5002, "/d/clusters/0002-shop-2", "postgres", 6002,
        version="16.14", instance_id="shop-2",
    )  # fmt: skip
    state = LabState("/tmp/lab", 1, 2, servers=(writer,), readers=(reader,))
    table = up_table(UpResult(state=state, env={}, already_running=True))
    lines = table.splitlines()
    assert any(line.split()[:2] == ["shop", "us-east-1"] and "5001" in line for line in lines)
    assert any("shop (reader shop-2)" in line and "127.0.0.1:6002" in line for line in lines)
    assert LabState.from_dict(state.to_dict()).reader("shop-2") == reader

"""infra/stack's bring-up with stand-in servers (plain programs, no real server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.stack_lib.api import free_port
from infra.stack_lib.lifecycle import bring_up
from infra.stack_lib.proc import StackError, child_alive, read_pidfile, stop_child
from infra.stack_lib.spec import Server


def stand_in(workdir: Path, command: list[str], answers: bool) -> Server:
    """A server whose command line never shows its marker, as a server's does not while
    its exec is still under way."""
    return Server(
        name="stand-in",
        label="stand-in",
        ports=(("AUTH_STACK_STAND_IN_PORT", free_port()),),
        marker="a-marker-not-in-the-command-line",
        ready_timeout=5,
        workdir=workdir,
        preflight=lambda: [],
        provision=lambda: None,
        command=lambda: command,
        probe=lambda _port: answers,
    )


@pytest.fixture
def started_pids(tmp_path: Path) -> Iterator[list[int]]:
    pids: list[int] = []
    yield pids
    for pid in pids:
        stop_child(pid, grace=5)


def test_a_server_just_started_counts_as_alive_until_it_exits(
    tmp_path: Path, started_pids: list[int]
) -> None:
    server = stand_in(tmp_path, ["sleep", "30"], answers=True)
    bring_up([server])
    record = read_pidfile(server.pidfile)
    assert record is not None
    started_pids.append(record.pid)
    assert child_alive(record.pid)


def test_a_server_that_exits_during_startup_is_reported(tmp_path: Path) -> None:
    server = stand_in(tmp_path, ["false"], answers=False)
    with pytest.raises(StackError, match="stand-in: exited during startup"):
        bring_up([server])
    assert not server.pidfile.exists()

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.private_stack import PrivateServer
from tests.support.servers import Servers


@pytest.fixture
def private_redis(servers: Servers, tmp_path: Path) -> Iterator[PrivateServer]:
    """A Redis of this test's own, which the test may stop and start."""
    server = PrivateServer("redis", tmp_path / "stack")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def private_mongo(servers: Servers, tmp_path: Path) -> Iterator[PrivateServer]:
    server = PrivateServer("mongo", tmp_path / "stack")
    server.start()
    yield server
    server.stop()

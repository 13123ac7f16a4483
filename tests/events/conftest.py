from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from auth_api.settings import Settings
from tests.support.servers import Servers


@pytest.fixture
async def test_db(
    servers: Servers, isolation: dict[str, str], real_settings: Callable[..., Settings]
) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    """The test's own database (dropped by real_settings): users, and the consumer's
    profiles and processed-event records."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongo_url, tz_aware=True)
    try:
        yield client[isolation["mongo_db"]]
    finally:
        await client.close()

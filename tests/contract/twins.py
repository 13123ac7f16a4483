"""Test doubles over both user stores: direct access to the pending markers (to stage
what a dead writer or an older release leaves), and stores that let a test slip another
write between a guarded write's read and its write."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from auth_api.model.clock import utc_now
from auth_api.store.memory import MemoryUserStore
from auth_api.store.memory_outbox import Marker
from auth_api.store.mongo import MongoUserStore

Store = MemoryUserStore | MongoUserStore
Interference = Callable[[], Awaitable[None]]


class Markers:
    """The pending markers of one store, read and changed behind its back."""

    async def ids(self) -> list[str]:
        raise NotImplementedError

    async def forget(self) -> None:
        """As an older release, or a writer that died between its event and its marker."""
        raise NotImplementedError

    async def plant(self, user_id: str) -> None:
        """A marker without events: a writer's marker that came after the delivery."""
        raise NotImplementedError


class MemoryMarkers(Markers):
    def __init__(self, store: MemoryUserStore) -> None:
        self._markers = store._outbox.markers

    async def ids(self) -> list[str]:
        return sorted(self._markers)

    async def forget(self) -> None:
        self._markers.clear()

    async def plant(self, user_id: str) -> None:
        self._markers[user_id] = Marker("planted", 1, utc_now())


class MongoMarkers(Markers):
    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self._markers = collection

    async def ids(self) -> list[str]:
        return sorted([doc["_id"] async for doc in self._markers.find({}, {"_id": 1})])

    async def forget(self) -> None:
        await self._markers.delete_many({})

    async def plant(self, user_id: str) -> None:
        await self._markers.insert_one({"_id": user_id, "v": "planted", "n": 1, "since": utc_now()})


@dataclass
class Twin:
    store: Store
    markers: Markers


class Interfering:
    """Runs `interference` right after a guarded write's read, `times` times."""

    interference: Interference | None = None
    times = 0

    async def _interfere(self) -> None:
        if self.interference is not None and self.times > 0:
            self.times -= 1
            await self.interference()


class InterferingMemoryStore(Interfering, MemoryUserStore):
    async def _read_for_update(self, user_id: str) -> Any:
        seen = await super()._read_for_update(user_id)
        await self._interfere()
        return seen


class InterferingMongoStore(Interfering, MongoUserStore):
    async def _read_for_update(self, user_id: str, projection: dict[str, Any]) -> Any:
        seen = await super()._read_for_update(user_id, projection)
        await self._interfere()
        return seen

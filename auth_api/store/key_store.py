"""Keys the service makes for itself, kept where every replica finds them.

A first start that finds no document writes its own under a fixed `_id`; a concurrent
first start on another replica loses that insert (duplicate key) and reads the winner's.
So all replicas, and every later start, agree on one document without coordination."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from auth_api.errors import DependencyUnavailable
from auth_api.store.mongo_concerns import MongoConcerns, concerned_database
from auth_api.store.mongo_errors import mongo_errors

KEY_COLLECTION = "signing_keys"
Document = dict[str, Any]


class MongoKeyStore:
    """Implements KeyStore in the `signing_keys` collection of the service's database."""

    def __init__(
        self,
        client: AsyncMongoClient[Document],
        database: str,
        concerns: MongoConcerns | None = None,
    ) -> None:
        self._keys = concerned_database(client, database, concerns)[KEY_COLLECTION]

    async def keep_first(self, key_id: str, make: Callable[[], Document]) -> Document:
        if (stored := await self._find(key_id)) is not None:
            return stored
        candidate = {**make(), "_id": key_id}
        try:
            async with mongo_errors():
                await self._keys.insert_one(dict(candidate))
        except DuplicateKeyError:
            if (stored := await self._find(key_id)) is None:  # removed since: retry later
                raise DependencyUnavailable("mongodb") from None
            return stored
        return candidate

    async def _find(self, key_id: str) -> Document | None:
        async with mongo_errors():
            return await self._keys.find_one({"_id": key_id})


class MemoryKeyStore:
    """Implements KeyStore in this process, for embedded mode: a restart makes new keys."""

    def __init__(self) -> None:
        self._documents: dict[str, Document] = {}

    async def keep_first(self, key_id: str, make: Callable[[], Document]) -> Document:
        if key_id not in self._documents:
            self._documents[key_id] = {**make(), "_id": key_id}
        return copy.deepcopy(self._documents[key_id])

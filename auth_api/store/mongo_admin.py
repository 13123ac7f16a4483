"""The admin writes and listing on the MongoDB `users` collection.

The writes are the user store's guarded writes: read the fields the decision needs,
decide in Python (are the roles still those the change was decided on? is the user
still active?), and write under `{_id, v}`, which every server answers from a unique
index. The listing is a range on `email_normalized`, sorted by it, with plain equality
filters on role and state; a server that serves only exact unique-index filters from
an index scans for it. It is an admin page's call, never on a user's request path."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from auth_api.errors import WriteContention
from auth_api.model.events import PendingEvent
from auth_api.model.user import User
from auth_api.store.admin_ports import (
    Disabling,
    Enabling,
    RolesChange,
    UserQuery,
    prefix_upper_bound,
)
from auth_api.store.documents import (
    roles_from_document,
    roles_to_document,
    session_to_document,
)
from auth_api.store.mongo import MongoUserStore, from_document
from auth_api.store.mongo_concerns import MongoConcerns, concerned_database
from auth_api.store.mongo_errors import mongo_errors
from quizauth_wire import ADMIN_ROLE, USER_ROLE

Document = dict[str, Any]
ACTIVE = {"$ne": False}  # documents of earlier releases may lack is_active
REMOVAL_LOCK = "admin-removal"
# Longer than a removal takes; a holder that crashed frees the lock after it.
REMOVAL_LOCK_SECONDS = 15.0
REMOVAL_WAIT_SECONDS = 5.0


def list_filter(query: UserQuery) -> Document:
    bounds: Document = {}
    if query.email_prefix:
        bounds["$gte"] = query.email_prefix
        bounds["$lt"] = prefix_upper_bound(query.email_prefix)
    if query.after is not None:
        bounds["$gt"] = query.after
    found: Document = {"email_normalized": bounds} if bounds else {}
    found["deleted_at"] = None  # a deleted account's tombstone is nobody to administer
    if query.role is not None and query.role != USER_ROLE:  # everyone has `user`
        found["roles"] = query.role
    if query.disabled is not None:
        found["is_active"] = False if query.disabled else ACTIVE
    return found


def is_active(doc: Document) -> bool:
    return doc.get("is_active") is not False


def is_deleted(doc: Document) -> bool:
    return doc.get("deleted_at") is not None


class MongoAdminStore:
    """Implements AdminStore over the collection, and with the writes, of `users`."""

    def __init__(
        self,
        users: MongoUserStore,
        client: AsyncMongoClient[Document],
        database: str,
        concerns: MongoConcerns | None = None,
    ) -> None:
        self._store = users
        db = concerned_database(client, database, concerns)
        self._users: AsyncCollection[Document] = db["users"]
        self._locks: AsyncCollection[Document] = db["locks"]

    async def list_users(self, query: UserQuery) -> list[User]:
        projection = {"outbox": 0, "sessions": 0}
        async with mongo_errors():
            cursor = self._users.find(list_filter(query), projection)
            docs = await cursor.sort("email_normalized", ASCENDING).limit(query.limit).to_list()
        return [from_document(doc) for doc in docs]

    async def change_roles(self, change: RolesChange) -> bool:
        update = {
            "$set": {"roles": roles_to_document(change.roles), "updated_at": change.at},
            "$unset": {"role": ""},  # the single role of documents of earlier releases
            "$push": {"outbox": change.event.to_document()},
        }

        def decide(doc: Document) -> Document | None:
            return update if roles_from_document(doc) == change.expected else None

        projection = {"roles": 1, "role": 1}
        return await self._store.write_decided(change.user_id, projection, decide, [change.event])

    async def disable(self, disabling: Disabling) -> bool:
        changes: Document = {
            "is_active": False,
            "disabled_at": disabling.at,
            "disabled_reason": disabling.reason,
            "updated_at": disabling.at,
        }
        changes.update({f"sessions.{s.id}": session_to_document(s) for s in disabling.ended})
        update = {
            "$set": changes,
            "$push": {"outbox": {"$each": [e.to_document() for e in disabling.events]}},
        }
        return await self._store.write_decided(
            disabling.user_id,
            {"is_active": 1},
            lambda doc: update if is_active(doc) else None,
            disabling.events,
        )

    async def enable(self, enabling: Enabling) -> bool:
        update = {
            "$set": {"is_active": True, "enabled_at": enabling.at, "updated_at": enabling.at},
            "$unset": {"disabled_at": "", "disabled_reason": ""},
            "$push": {"outbox": enabling.event.to_document()},
        }
        return await self._store.write_decided(
            enabling.user_id,
            {"is_active": 1, "deleted_at": 1},
            lambda doc: None if is_active(doc) or is_deleted(doc) else update,
            [enabling.event],
        )

    async def record_events(self, user_id: str, events: list[PendingEvent]) -> bool:
        update = {"$push": {"outbox": {"$each": [e.to_document() for e in events]}}}
        return await self._store.write_decided(user_id, {"_id": 1}, lambda _: update, events)

    async def count_admins(self) -> int:
        async with mongo_errors():
            return await self._users.count_documents({"roles": ADMIN_ROLE, "is_active": ACTIVE})

    @asynccontextmanager
    async def admin_removal(self) -> AsyncIterator[None]:
        """A lease on one document of `locks`: taken by inserting it, or by taking it
        over once expired; released by its holder's token."""
        token = secrets.token_hex(8)
        await self._take_removal_lock(token)
        try:
            yield
        finally:
            async with mongo_errors():
                await self._locks.delete_one({"_id": REMOVAL_LOCK, "token": token})

    async def _take_removal_lock(self, token: str) -> None:
        deadline = time.monotonic() + REMOVAL_WAIT_SECONDS
        while True:
            now = datetime.now(UTC)
            lease = {"token": token, "expires_at": now + timedelta(seconds=REMOVAL_LOCK_SECONDS)}
            try:
                async with mongo_errors():
                    await self._locks.update_one(
                        {"_id": REMOVAL_LOCK, "expires_at": {"$lt": now}},
                        {"$set": lease},
                        upsert=True,
                    )
                return
            except DuplicateKeyError:  # held, and not expired: the upsert met it
                if time.monotonic() > deadline:
                    raise WriteContention("mongodb") from None
                await asyncio.sleep(0.05)

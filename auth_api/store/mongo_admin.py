"""The admin writes and listing on the MongoDB `users` collection. Listing is a range
on `email_normalized` sorted by it; the filters on role and state are plain equalities.
Servers that answer only an exact unique-index filter from an index scan for these;
they are rare calls of an admin page, never on a user's request path."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from auth_api.model.user import User
from auth_api.store.admin_ports import (
    Disabling,
    Enabling,
    RolesChange,
    UserQuery,
    prefix_upper_bound,
)
from auth_api.store.documents import roles_to_document, session_to_document
from auth_api.store.mongo import from_document, mongo_errors
from quizauth_wire import ADMIN_ROLE, USER_ROLE

Document = dict[str, Any]
ACTIVE = {"$ne": False}  # documents of earlier releases may lack is_active


def list_filter(query: UserQuery) -> Document:
    bounds: Document = {}
    if query.email_prefix:
        bounds["$gte"] = query.email_prefix
        bounds["$lt"] = prefix_upper_bound(query.email_prefix)
    if query.after is not None:
        bounds["$gt"] = query.after
    found: Document = {"email_normalized": bounds} if bounds else {}
    if query.role is not None and query.role != USER_ROLE:  # everyone has `user`
        found["roles"] = query.role
    if query.disabled is not None:
        found["is_active"] = False if query.disabled else ACTIVE
    return found


class MongoAdminStore:
    """Implements AdminStore over the collection MongoUserStore keeps."""

    def __init__(self, client: AsyncMongoClient[Document], database: str) -> None:
        self._users: AsyncCollection[Document] = client[database]["users"]

    async def list_users(self, query: UserQuery) -> list[User]:
        projection = {"outbox": 0, "sessions": 0}
        async with mongo_errors():
            cursor = self._users.find(list_filter(query), projection)
            docs = await cursor.sort("email_normalized", ASCENDING).limit(query.limit).to_list()
        return [from_document(doc) for doc in docs]

    async def change_roles(self, change: RolesChange) -> bool:
        update = {
            "$set": {"roles": roles_to_document(change.roles), "updated_at": change.at},
            "$unset": {"role": ""},
            "$push": {"outbox": change.event.to_document()},
        }
        guards: list[Document] = [
            {"_id": change.user_id, "roles": roles_to_document(change.expected)}
        ]
        if change.expected == {USER_ROLE}:
            # A document of an earlier release: a single `role`, no `roles` yet.
            guards.append({"_id": change.user_id, "roles": {"$exists": False}})
        async with mongo_errors():
            for guard in guards:
                if (await self._users.update_one(guard, update)).modified_count == 1:
                    return True
        return False

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
        async with mongo_errors():
            result = await self._users.update_one(
                {"_id": disabling.user_id, "is_active": ACTIVE}, update
            )
        return result.modified_count == 1

    async def enable(self, enabling: Enabling) -> bool:
        update = {
            "$set": {"is_active": True, "enabled_at": enabling.at, "updated_at": enabling.at},
            "$unset": {"disabled_at": "", "disabled_reason": ""},
            "$push": {"outbox": enabling.event.to_document()},
        }
        async with mongo_errors():
            result = await self._users.update_one(
                {"_id": enabling.user_id, "is_active": False}, update
            )
        return result.modified_count == 1

    async def count_admins(self) -> int:
        async with mongo_errors():
            return await self._users.count_documents({"roles": ADMIN_ROLE, "is_active": ACTIVE})

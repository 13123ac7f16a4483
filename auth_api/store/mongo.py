"""MongoDB user store. Every state change and the event that reports it land in one
single-document write: the event outbox is an array inside the user's own document,
so neither can exist without the other, without multi-document transactions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from auth_api.errors import EmailAlreadyRegistered
from auth_api.model.events import PendingEvent
from auth_api.model.session import Session
from auth_api.model.user import Role, User
from auth_api.store.account_ports import Welcome
from auth_api.store.documents import session_to_document, sessions_from_document
from auth_api.store.mongo_accounts import MongoAccounts, welcome_fields
from auth_api.store.mongo_errors import mongo_errors
from auth_api.store.ports import LoginRecord, UserEvents

Document = dict[str, Any]
# Matches users with undelivered events; served by the sparse index on outbox.id.
PENDING = {"outbox.id": {"$exists": True}}


def to_document(user: User, event: PendingEvent) -> Document:
    return {
        "_id": user.id,
        "email": user.email,
        "email_normalized": user.email_normalized,
        "display_name": user.display_name,
        "password_hash": user.password_hash,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "last_login_at": user.last_login_at,
        "is_active": user.is_active,
        "role": user.role.value,
        "email_verified": user.email_verified,
        "email_verified_at": user.email_verified_at,
        "deleted_at": user.deleted_at,
        "outbox": [event.to_document()],
        "sessions": {},
    }


def from_document(doc: Document) -> User:
    return User(
        id=doc["_id"],
        email=doc["email"],
        email_normalized=doc["email_normalized"],
        display_name=doc["display_name"],
        password_hash=doc["password_hash"],
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        last_login_at=doc.get("last_login_at"),
        is_active=bool(doc.get("is_active", True)),
        role=Role(doc.get("role", Role.USER.value)),
        email_verified=bool(doc.get("email_verified", False)),
        email_verified_at=doc.get("email_verified_at"),
        deleted_at=doc.get("deleted_at"),
        sessions=sessions_from_document(doc),
    )


class MongoUserStore(MongoAccounts):
    """Implements UserStore, SessionStore and Outbox over the `users` collection, and
    AccountStore and MailOutbox (mongo_accounts.py)."""

    def __init__(self, client: AsyncMongoClient[Document], database: str) -> None:
        self._user_of = from_document
        self._client = client
        self._users: AsyncCollection[Document] = client[database]["users"]

    async def setup(self) -> None:
        async with mongo_errors():
            await self._users.create_index(
                [("email_normalized", ASCENDING)], unique=True, name="email_normalized_unique"
            )
            # Only users with pending events have an outbox.id: the relay's poll stays
            # cheap however many users there are.
            await self._users.create_index(
                [("outbox.id", ASCENDING)], sparse=True, name="outbox_pending"
            )
        await self.setup_accounts()

    async def ping(self) -> None:
        async with mongo_errors():
            await self._client.admin.command("ping")

    async def create(self, user: User, event: PendingEvent, welcome: Welcome | None = None) -> None:
        document = to_document(user, event)
        if welcome is not None:
            document.update(welcome_fields(welcome))
        try:
            async with mongo_errors():
                await self._users.insert_one(document)
        except DuplicateKeyError as exc:
            raise EmailAlreadyRegistered from exc

    async def find_by_email(self, email_normalized: str) -> User | None:
        return await self._find_one({"email_normalized": email_normalized}, {"outbox": 0})

    async def find_by_id(self, user_id: str) -> User | None:
        return await self._find_one({"_id": user_id}, {"outbox": 0, "sessions": 0})

    async def record_login(self, login: LoginRecord) -> None:
        session = login.session
        changes: Document = {
            "last_login_at": login.at,
            "updated_at": login.at,
            f"sessions.{session.id}": session_to_document(session),
        }
        if login.new_hash is not None:
            changes["password_hash"] = login.new_hash
        events = [event.to_document() for event in login.events]
        update: Document = {"$set": changes, "$push": {"outbox": {"$each": events}}}
        if login.stale_session_ids:
            update["$unset"] = {f"sessions.{sid}": "" for sid in login.stale_session_ids}
        async with mongo_errors():
            await self._users.update_one({"_id": login.user_id}, update)

    async def find_with_sessions(self, user_id: str) -> User | None:
        return await self._find_one({"_id": user_id}, {"outbox": 0, "mail_outbox": 0, "tokens": 0})

    async def sessions_of(self, user_id: str) -> dict[str, Session] | None:
        async with mongo_errors():
            doc = await self._users.find_one({"_id": user_id}, {"sessions": 1})
        return sessions_from_document(doc) if doc else None

    async def replace_session(self, user_id: str, expected_hash: str, session: Session) -> bool:
        path = f"sessions.{session.id}"
        guard = {"_id": user_id, f"{path}.refresh_hash": expected_hash, f"{path}.revoked_at": None}
        update = {"$set": {path: session_to_document(session)}}
        async with mongo_errors():
            result = await self._users.update_one(guard, update)
        return result.modified_count == 1

    async def end_sessions(
        self, user_id: str, ended: list[Session], event: PendingEvent, only_if_active: bool
    ) -> bool:
        guard: Document = {"_id": user_id}
        if only_if_active:
            guard.update({f"sessions.{s.id}.revoked_at": None for s in ended})
        changes = {f"sessions.{s.id}": session_to_document(s) for s in ended}
        update = {"$set": changes, "$push": {"outbox": event.to_document()}}
        async with mongo_errors():
            result = await self._users.update_one(guard, update)
        return result.modified_count == 1

    async def pending(self, limit: int) -> list[UserEvents]:
        async with mongo_errors():
            cursor = self._users.find(PENDING, {"outbox": 1}).limit(limit)
            docs = await cursor.to_list()
        return [
            UserEvents(doc["_id"], [PendingEvent.from_document(e) for e in doc["outbox"]])
            for doc in docs
        ]

    async def pending_of(self, user_id: str) -> UserEvents | None:
        async with mongo_errors():
            doc = await self._users.find_one({"_id": user_id}, {"outbox": 1})
        events = (doc or {}).get("outbox") or []
        if not events:
            return None
        return UserEvents(user_id, [PendingEvent.from_document(e) for e in events])

    async def mark_delivered(self, user_id: str, events: list[PendingEvent]) -> None:
        async with mongo_errors():
            for event in events:
                if not await self._pull(user_id, event):
                    await self._pop_if_first(user_id, event.id)

    async def _pull(self, user_id: str, event: PendingEvent) -> bool:
        """Remove exactly this event, matched by its whole stored value, with a filter on
        `_id` alone. Exact and harmless to repeat (a concurrent $push is untouched, a
        second relay's removal is a no-op), and cheap everywhere: FerretDB serves only a
        bare `_id` filter without reading the whole collection."""
        pull = {"$pullAll": {"outbox": [event.to_document()]}}
        result = await self._users.update_one({"_id": user_id}, pull)
        return result.modified_count == 1

    async def _pop_if_first(self, user_id: str, event_id: str) -> None:
        """The fallback when the stored value differs from ours (written by another
        release, say): pop the front element, guarded by the id expected there. Events
        are removed in order, so a delivered event is always at the front by now."""
        guard = {"_id": user_id, "outbox.0.id": event_id}
        await self._users.update_one(guard, {"$pop": {"outbox": -1}})

    async def backlog(self) -> tuple[int, datetime | None]:
        async with mongo_errors():
            docs = await self._users.find(PENDING, {"outbox.time": 1}).to_list()
        times = [e["time"] for doc in docs for e in doc["outbox"]]
        return len(times), min(times, default=None)

    async def _find_one(self, query: Document, projection: Document) -> User | None:
        async with mongo_errors():
            doc = await self._users.find_one(query, projection)
        return from_document(doc) if doc else None

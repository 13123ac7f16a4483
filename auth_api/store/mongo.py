"""MongoDB user store. Every state change and the event that reports it land in one
single-document write: the event outbox is an array inside the user's own document,
so neither can exist without the other, without multi-document transactions.

Each user document carries a version `v`, incremented by every write but the relay's
removal of delivered events. A write that depends on what is stored (a refresh's
compare-and-set, ending a session only while active) reads the document, decides in
Python, and writes under the filter `{_id, v}`: exactly the keys of a unique index, so
every server answers it from an index. Documents from before the version read as
`v: null` (null matches a missing field) and get `v: 1` from their first `$inc`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import pymongo
from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from auth_api.errors import EmailAlreadyRegistered, WriteContention
from auth_api.model.events import PendingEvent
from auth_api.model.session import Session
from auth_api.model.user import User
from auth_api.store.account_ports import Welcome
from auth_api.store.documents import (
    roles_from_document,
    roles_to_document,
    session_to_document,
    sessions_from_document,
)
from auth_api.store.mongo_accounts import MongoAccounts, welcome_fields
from auth_api.store.mongo_concerns import MongoConcerns, concerned_database
from auth_api.store.mongo_errors import mongo_errors
from auth_api.store.mongo_outbox import MARKERS, MongoOutbox
from auth_api.store.ports import (
    GUARDED_WRITE_ATTEMPTS,
    BacklogReading,
    Lease,
    LeaseTerms,
    LoginRecord,
    MarkerPage,
    PendingPage,
    UserEvents,
)

Document = dict[str, Any]
# Index creation at start may wait this long, whatever AUTH_IO_TIMEOUT_SECONDS says.
SETUP_TIMEOUT_SECONDS = 30.0
# What a User is not made of: the undelivered events and mails, and the lifecycle's
# tokens. Left on the server, so a login or a profile read carries no more than it uses.
NOT_OF_THE_USER: Document = {"outbox": 0, "mail_outbox": 0, "tokens": 0}
# Given the stored document, the update to make, or None to make none.
Decision = Callable[[Document], Document | None]


def to_document(user: User, event: PendingEvent) -> Document:
    return {
        "_id": user.id,
        "v": 0,
        "email": user.email,
        "email_normalized": user.email_normalized,
        "display_name": user.display_name,
        "password_hash": user.password_hash,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "last_login_at": user.last_login_at,
        "is_active": user.is_active,
        "roles": roles_to_document(user.roles),
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
        roles=roles_from_document(doc),
        disabled_at=doc.get("disabled_at"),
        disabled_reason=doc.get("disabled_reason"),
        enabled_at=doc.get("enabled_at"),
        email_verified=bool(doc.get("email_verified", False)),
        email_verified_at=doc.get("email_verified_at"),
        deleted_at=doc.get("deleted_at"),
        sessions=sessions_from_document(doc),
    )


def still_active(doc: Document, session_ids: list[str]) -> bool:
    stored = doc.get("sessions") or {}
    return all(sid in stored and stored[sid].get("revoked_at") is None for sid in session_ids)


class MongoUserStore(MongoAccounts):
    """Implements UserStore, SessionStore and Outbox over the `users` collection and the
    pending markers of `outbox_pending`, and AccountStore and MailOutbox
    (mongo_accounts.py)."""

    def __init__(
        self,
        client: AsyncMongoClient[Document],
        database: str,
        concerns: MongoConcerns | None = None,
    ) -> None:
        self._user_of = from_document
        self._client = client
        db = concerned_database(client, database, concerns)
        self._users: AsyncCollection[Document] = db["users"]
        # The relay's reads see only what a majority holds (mongo_concerns.py); its
        # writes, like every other, wait for the chosen write concern.
        relay = (concerns or MongoConcerns()).relay_read
        self._outbox = MongoOutbox(
            self._users.with_options(read_concern=relay),
            db[MARKERS].with_options(read_concern=relay),
        )

    async def setup(self) -> None:
        # Once, at start, off any request path: building an index on a loaded server can
        # take longer than a request may wait (AUTH_IO_TIMEOUT_SECONDS).
        with pymongo.timeout(SETUP_TIMEOUT_SECONDS):
            await self._create_indexes()

    async def _create_indexes(self) -> None:
        async with mongo_errors():
            await self._users.create_index(
                [("email_normalized", ASCENDING)], unique=True, name="email_normalized_unique"
            )
            # Serves the guarded writes' filter {_id, v}; see the module's docstring.
            await self._users.create_index(
                [("_id", ASCENDING), ("v", ASCENDING)], unique=True, name="id_version_unique"
            )
            await self._outbox.setup()
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
        await self._outbox.recorded(user.id, [event])

    async def find_by_email(self, email_normalized: str) -> User | None:
        # A deleted account's tombstone keeps a placeholder address that no one may log
        # in with or be found by.
        live = {"email_normalized": email_normalized, "deleted_at": None}
        return await self._find_one(live, NOT_OF_THE_USER)

    async def find_by_id(self, user_id: str) -> User | None:
        return await self._find_one({"_id": user_id}, {**NOT_OF_THE_USER, "sessions": 0})

    async def record_login(self, login: LoginRecord) -> bool:
        session = login.session
        changes: Document = {
            "last_login_at": login.at,
            "updated_at": login.at,
            f"sessions.{session.id}": session_to_document(session),
        }
        if login.new_hash is not None:
            changes["password_hash"] = login.new_hash
        update: Document = {
            "$set": changes,
            "$push": {"outbox": {"$each": [e.to_document() for e in login.events]}},
            "$inc": {"v": 1},
        }
        if login.stale_session_ids:
            update["$unset"] = {f"sessions.{sid}": "" for sid in login.stale_session_ids}
        still_checked = {
            "_id": login.user_id,
            "password_hash": login.checked_hash,
            "is_active": {"$ne": False},
            "deleted_at": None,
        }
        async with mongo_errors():
            result = await self._users.update_one(still_checked, update)
        if result.matched_count != 1:
            return False
        await self._outbox.recorded(login.user_id, login.events)
        return True

    async def find_with_sessions(self, user_id: str) -> User | None:
        return await self._find_one({"_id": user_id}, NOT_OF_THE_USER)

    async def sessions_of(self, user_id: str) -> dict[str, Session] | None:
        async with mongo_errors():
            doc = await self._users.find_one({"_id": user_id}, {"sessions": 1})
        return sessions_from_document(doc) if doc else None

    async def replace_session(self, user_id: str, expected_hash: str, session: Session) -> bool:
        # The condition is the filter itself: one round trip, and atomic on the document.
        path = f"sessions.{session.id}"
        still_current = {
            "_id": user_id,
            f"{path}.refresh_hash": expected_hash,
            f"{path}.revoked_at": None,
        }
        update = {"$set": {path: session_to_document(session)}, "$inc": {"v": 1}}
        async with mongo_errors():
            result = await self._users.update_one(still_current, update)
        return result.matched_count == 1

    async def end_sessions(
        self,
        user_id: str,
        ended: list[Session],
        event: PendingEvent,
        only_if_active: bool,
        more_events: Sequence[PendingEvent] = (),
    ) -> bool:
        events = [event, *more_events]
        update: Document = {"$push": {"outbox": {"$each": [e.to_document() for e in events]}}}
        if ended:  # an empty $set is an error on older servers
            update["$set"] = {f"sessions.{s.id}": session_to_document(s) for s in ended}
        if only_if_active:
            ids = [s.id for s in ended]
            written = await self._guarded(
                user_id,
                {f"sessions.{sid}": 1 for sid in ids},
                lambda doc: update if still_active(doc, ids) else None,
            )
        else:
            async with mongo_errors():
                result = await self._users.update_one(
                    {"_id": user_id}, {**update, "$inc": {"v": 1}}
                )
            written = result.matched_count == 1
        if written:
            await self._outbox.recorded(user_id, events)
        return written

    async def write_decided(
        self,
        user_id: str,
        projection: Document,
        decide: Decision,
        events: Sequence[PendingEvent],
    ) -> bool:
        """A guarded write (below) whose update records `events`, marked for the relay
        once written: for the writers beside this store (store/mongo_admin.py)."""
        written = await self._guarded(user_id, projection, decide)
        if written and events:
            await self._outbox.recorded(user_id, events)
        return written

    async def _guarded(self, user_id: str, projection: Document, decide: Decision) -> bool:
        """Read, decide, and write only if no other write came in between; on a lost race
        read and decide again. False when the user is missing or `decide` declines."""
        async with mongo_errors():
            for _ in range(GUARDED_WRITE_ATTEMPTS):
                doc = await self._read_for_update(user_id, projection)
                update = decide(doc) if doc is not None else None
                if doc is None or update is None:
                    return False
                guard = {"_id": user_id, "v": doc.get("v")}
                result = await self._users.update_one(guard, {**update, "$inc": {"v": 1}})
                if result.matched_count == 1:
                    return True
        raise WriteContention("mongodb")

    async def _read_for_update(self, user_id: str, projection: Document) -> Document | None:
        return await self._users.find_one({"_id": user_id}, {**projection, "v": 1})

    async def pending(self, limit: int) -> list[UserEvents]:
        return (await self.pending_page(limit)).batches

    async def pending_page(self, limit: int) -> PendingPage:
        async with mongo_errors():
            return await self._outbox.pending_page(limit)

    async def restore_markers(self, limit: int, after: str = "") -> str | None:
        async with mongo_errors():
            return await self._outbox.restore_markers(limit, after)

    async def pending_of(self, user_id: str) -> UserEvents | None:
        async with mongo_errors():
            return await self._outbox.pending_of(user_id)

    async def mark_delivered(self, user_id: str, events: list[PendingEvent]) -> bool:
        async with mongo_errors():
            return await self._outbox.mark_delivered(user_id, events)

    async def unleased_page(self, limit: int, now: datetime) -> MarkerPage:
        async with mongo_errors():
            return await self._outbox.unleased_page(limit, now)

    async def lease(self, user_id: str, terms: LeaseTerms) -> Lease | None:
        async with mongo_errors():
            return await self._outbox.lease(user_id, terms)

    async def events_of(self, user_ids: list[str]) -> list[UserEvents]:
        async with mongo_errors():
            return await self._outbox.events_of(user_ids)

    async def drop_if_unchanged(self, user_id: str, version: str | None) -> bool:
        async with mongo_errors():
            return await self._outbox.drop_if_unchanged(user_id, version)

    async def release(self, user_id: str, owner: str) -> None:
        async with mongo_errors():
            await self._outbox.release(user_id, owner)

    async def backlog(self) -> tuple[int, datetime | None]:
        async with mongo_errors():
            return await self._outbox.backlog()

    async def read_backlog(self, max_users: int) -> BacklogReading:
        async with mongo_errors():
            return await self._outbox.read_backlog(max_users)

    async def _find_one(self, query: Document, projection: Document) -> User | None:
        async with mongo_errors():
            doc = await self._users.find_one(query, projection)
        return from_document(doc) if doc else None

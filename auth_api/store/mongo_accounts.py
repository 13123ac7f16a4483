"""The account lifecycle's writes and the mail outbox, over the same `users` documents as
mongo.py. Tokens live under `tokens.<purpose>`, unsent mails in the `mail_outbox` array:
a change, the events that report it and the mails it causes are one write.

A change is read, decided and written with the filter {_id, v}, the document's version,
so a write that came in between makes it read and decide again: single-use tokens are
spent once, whatever the server's concurrency."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from auth_api.errors import EmailAlreadyRegistered, WriteContention
from auth_api.model.events import PendingEvent
from auth_api.model.mail import PendingMail
from auth_api.model.one_time_tokens import StoredToken, TokenPurpose
from auth_api.model.user import User
from auth_api.store.account_ports import (
    CHANGE_ATTEMPTS,
    AccountChange,
    AccountRecord,
    AccountState,
    Decide,
    UserMails,
    Welcome,
)
from auth_api.store.documents import session_to_document
from auth_api.store.mongo_errors import mongo_errors
from auth_api.store.mongo_outbox import MongoOutbox

Document = dict[str, Any]
MAIL_PENDING = {"mail_outbox.id": {"$exists": True}}
MAIL_FIELDS = {"mail_outbox": 1, "email": 1, "display_name": 1}


def welcome_fields(welcome: Welcome) -> Document:
    return {
        "tokens": {str(welcome.purpose): welcome.token.to_document()},
        "mail_outbox": [welcome.mail.to_document()],
    }


def tokens_from(doc: Document) -> dict[str, StoredToken]:
    raw = doc.get("tokens") or {}
    return {purpose: StoredToken.from_document(value) for purpose, value in raw.items()}


def change_update(change: AccountChange) -> Document:
    """The one update document that writes `change`."""
    changes: Document = dict(change.fields)
    removed: Document = {}
    if change.clear_tokens:
        changes["tokens"] = {}
    for purpose, token in change.tokens.items():
        if token is None:
            removed[f"tokens.{purpose}"] = ""
        else:
            changes[f"tokens.{purpose}"] = token.to_document()
    if change.clear_sessions:
        changes["sessions"] = {}
    for session in change.ended_sessions:
        changes[f"sessions.{session.id}"] = session_to_document(session)
    if change.clear_mails:
        changes["mail_outbox"] = []
    pushed: Document = {}
    if change.events:
        pushed["outbox"] = {"$each": [e.to_document() for e in change.events]}
    if change.mails:
        pushed["mail_outbox"] = {"$each": [m.to_document() for m in change.mails]}
    update: Document = {"$inc": {"v": 1}}
    for operator, values in (("$set", changes), ("$unset", removed), ("$push", pushed)):
        if values:
            update[operator] = values
    return update


def user_mails(doc: Document) -> UserMails:
    return UserMails(
        doc["_id"],
        doc.get("email", ""),
        doc.get("display_name", ""),
        [PendingMail.from_document(m) for m in doc.get("mail_outbox") or []],
    )


class MongoAccounts:
    """Mixed into MongoUserStore, whose `users` collection it shares."""

    _users: AsyncCollection[Document]
    _user_of: Callable[[Document], User]  # mongo.py's reading of a user document
    _outbox: MongoOutbox  # marks the users with undelivered events

    async def setup_accounts(self) -> None:
        async with mongo_errors():
            # Only users with unsent mails have a mail_outbox.id: the relay's sweep reads
            # those alone on MongoDB.
            await self._users.create_index(
                [("mail_outbox.id", ASCENDING)], sparse=True, name="mail_pending"
            )

    async def account(self, user_id: str) -> AccountRecord | None:
        async with mongo_errors():
            doc = await self._users.find_one({"_id": user_id})
        if doc is None:
            return None
        return AccountRecord(
            self._user_of(doc),
            tokens_from(doc),
            [PendingEvent.from_document(e) for e in doc.get("outbox") or []],
            [PendingMail.from_document(m) for m in doc.get("mail_outbox") or []],
        )

    async def change_account(self, user_id: str, decide: Decide) -> AccountChange | None:
        async with mongo_errors():
            for _ in range(CHANGE_ATTEMPTS):
                doc = await self._users.find_one({"_id": user_id}, {"outbox": 0, "mail_outbox": 0})
                if doc is None:
                    return None
                change = decide(AccountState(self._user_of(doc), tokens_from(doc)))
                if change is None:
                    return None
                if await self._write_if_unchanged(user_id, doc.get("v"), change):
                    break
            else:
                raise WriteContention("mongodb")
        if change.events:
            await self._outbox.recorded(user_id, change.events)
        return change

    async def _write_if_unchanged(self, user_id: str, v: object, change: AccountChange) -> bool:
        try:
            result = await self._users.update_one({"_id": user_id, "v": v}, change_update(change))
        except DuplicateKeyError as exc:
            raise EmailAlreadyRegistered from exc
        return result.matched_count == 1

    async def issue_by_email(
        self, email_normalized: str, purpose: TokenPurpose, token: StoredToken, mail: PendingMail
    ) -> str | None:
        update = {
            "$set": {f"tokens.{purpose}": token.to_document()},
            "$push": {"mail_outbox": mail.to_document()},
            "$inc": {"v": 1},
        }
        async with mongo_errors():
            doc = await self._users.find_one_and_update(
                # No link for a disabled account: it could not be used.
                {"email_normalized": email_normalized, "is_active": {"$ne": False}},
                update,
                projection={"_id": 1},
                return_document=ReturnDocument.AFTER,
            )
        return str(doc["_id"]) if doc else None

    async def pending_mails(self, limit: int) -> list[UserMails]:
        async with mongo_errors():
            docs = await self._users.find(MAIL_PENDING, MAIL_FIELDS).limit(limit).to_list()
        return [user_mails(doc) for doc in docs if doc.get("mail_outbox")]

    async def pending_mails_of(self, user_id: str) -> UserMails | None:
        async with mongo_errors():
            doc = await self._users.find_one({"_id": user_id}, MAIL_FIELDS)
        return user_mails(doc) if doc and doc.get("mail_outbox") else None

    async def remove_mails(self, user_id: str, mail_ids: list[str]) -> None:
        pull = {"$pull": {"mail_outbox": {"id": {"$in": mail_ids}}}}
        async with mongo_errors():
            await self._users.update_one({"_id": user_id}, pull)

    async def mail_backlog(self) -> int:
        async with mongo_errors():
            docs = await self._users.find(MAIL_PENDING, {"mail_outbox.id": 1}).to_list()
        return sum(len(doc.get("mail_outbox") or []) for doc in docs)

"""The reference quiz-side consumer: one player profile per user.

Every update is idempotent in the profile document itself, so an event applied twice
(say the process died after applying it and before recording its id) changes nothing
the second time:
- user.registered sets fields to the values the event carries: repeating it sets the
  same values again;
- user.logged_in increments the login count in the same single-document write that adds
  its event id to `recent_login_ids`, and only when the id is not there yet (`$ne`).
  The list keeps the last RECENT_LOGINS ids: a redelivery that escaped ProcessedEvents
  is one of the last few events of its partition, never older.

- user.roles_changed sets the roles the event carries, and when they changed, only if
  the stored change is older: a redelivered earlier change does not undo a later one.

user.deleted erases the profile: it becomes a tombstone holding only the user id and
the time, so that a registration, login or role change of that user delivered late
(another topic, another order) cannot bring the profile back.

The address comes from user.registered and user.email_changed, and is kept with the
time of the event that set it (`email_at`): an address older than the stored one is
ignored, so a registration delivered after a change does not bring the old one back.

It assumes no ordering between event types: they travel on different topics, so a login
or a role change can arrive before the registration, and any of them creates the profile.
Only single-document operators that behave the same on MongoDB and the stack's
mongo-java-server are used ($set, $setOnInsert with upsert, $inc, $max, $push, $pop,
$ne on an array, $exists, replace with upsert, $or of $exists and $lt or $lte).
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from consumers.events import AuthEvent, parse_time
from consumers.runner import Handler
from quizauth_wire import EventType

Document = dict[str, Any]
RECENT_LOGINS = 16
COLLECTION = "player_profiles"
# Profiles that are not tombstones of deleted users.
LIVE: Document = {"deleted_at": {"$exists": False}}


class QuizProfiles:
    def __init__(self, profiles: AsyncCollection[Document]) -> None:
        self._profiles = profiles

    def handlers(self) -> dict[str, Handler]:
        return {
            EventType.USER_REGISTERED: self.on_registered,
            EventType.USER_LOGGED_IN: self.on_logged_in,
            EventType.USER_EMAIL_CHANGED: self.on_email_changed,
            EventType.USER_DELETED: self.on_deleted,
            EventType.USER_ROLES_CHANGED: self.on_roles_changed,
        }

    async def on_deleted(self, event: AuthEvent) -> None:
        """Erase the profile: replaced whole by a tombstone without personal data.
        Repeating it writes the same tombstone again."""
        user_id = event.data["user_id"]
        tombstone = {"_id": user_id, "deleted_at": parse_time(event.data["deleted_at"])}
        await self._profiles.replace_one({"_id": user_id}, tombstone, upsert=True)

    async def on_email_changed(self, event: AuthEvent) -> None:
        user_id = event.data["user_id"]
        await self._upsert(
            user_id, {"$setOnInsert": {**self._new_profile(), "updated_at": datetime.now(UTC)}}
        )
        await self._set_email_unless_newer(user_id, event.data["new_email"], event.time)

    async def on_registered(self, event: AuthEvent) -> None:
        data = event.data
        await self._upsert(
            data["user_id"],
            {
                "$set": {
                    "display_name": data["display_name"],
                    "registered_at": parse_time(data["registered_at"]),
                    "updated_at": datetime.now(UTC),
                },
                "$setOnInsert": self._new_profile(),
            },
        )
        await self._set_email_unless_newer(data["user_id"], data["email"], event.time)

    async def _set_email_unless_newer(self, user_id: str, email: str, at: datetime) -> None:
        # On a tie (two events of one millisecond) the later handled wins, as before.
        older = [{"email_at": {"$exists": False}}, {"email_at": {"$lte": at}}]
        await self._profiles.update_one(
            {"_id": user_id, **LIVE, "$or": older},
            {"$set": {"email": email, "email_at": at, "updated_at": datetime.now(UTC)}},
        )

    async def on_logged_in(self, event: AuthEvent) -> None:
        data = event.data
        user_id = data["user_id"]
        # Create the profile if the registration has not arrived yet: repeatable.
        await self._upsert(
            user_id,
            {
                "$setOnInsert": {
                    **self._new_profile(),
                    "email": data["email"],
                    "display_name": data["display_name"],
                    "updated_at": datetime.now(UTC),
                }
            },
        )
        counted = await self._profiles.update_one(
            {"_id": user_id, "recent_login_ids": {"$ne": event.id}, **LIVE},
            {
                "$inc": {"login_count": 1},
                "$max": {"last_login_at": parse_time(data["logged_in_at"])},
                "$push": {"recent_login_ids": event.id},
                "$set": {"updated_at": datetime.now(UTC)},
            },
        )
        if counted.modified_count:
            await self._forget_oldest_login(user_id)

    async def on_roles_changed(self, event: AuthEvent) -> None:
        data = event.data
        user_id = data["user_id"]
        changed_at = parse_time(data["changed_at"])
        await self._upsert(
            user_id, {"$setOnInsert": {**self._new_profile(), "updated_at": datetime.now(UTC)}}
        )
        not_newer = [
            {"roles_changed_at": {"$exists": False}},
            {"roles_changed_at": {"$lt": changed_at}},
        ]
        await self._profiles.update_one(
            {"_id": user_id, **LIVE, "$or": not_newer},
            {
                "$set": {
                    "roles": data["new_roles"],
                    "roles_changed_at": changed_at,
                    "updated_at": datetime.now(UTC),
                }
            },
        )

    async def _forget_oldest_login(self, user_id: str) -> None:
        # $push with $slice would do this in the same write; a guarded $pop needs only the
        # operators every MongoDB-wire server has. If it is lost the list is one longer.
        await self._profiles.update_one(
            {"_id": user_id, f"recent_login_ids.{RECENT_LOGINS}": {"$exists": True}},
            {"$pop": {"recent_login_ids": -1}},
        )

    async def _upsert(self, user_id: str, update: Document) -> None:
        """Insert or update the profile, unless it is a tombstone: then the filter
        matches nothing and the insert meets the tombstone's id, which ends it."""
        try:
            await self._profiles.update_one({"_id": user_id, **LIVE}, update, upsert=True)
        except DuplicateKeyError:
            # Two first events of one user raced to insert (the loser is now an update),
            # or the user was deleted (the retry meets the tombstone again: nothing to do).
            with contextlib.suppress(DuplicateKeyError):
                await self._profiles.update_one({"_id": user_id, **LIVE}, update, upsert=True)

    @staticmethod
    def _new_profile() -> Document:
        return {
            "login_count": 0,
            "recent_login_ids": [],
            "roles": ["user"],
            "created_at": datetime.now(UTC),
        }

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

It assumes no ordering between the two event types: they travel on different topics,
so a login can arrive before the registration, and either one creates the profile.
Only single-document operators that behave the same on MongoDB and the stack's
mongo-java-server are used ($set, $setOnInsert with upsert, $inc, $max, $push, $pop, $ne
on an array).
"""

from __future__ import annotations

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


class QuizProfiles:
    def __init__(self, profiles: AsyncCollection[Document]) -> None:
        self._profiles = profiles

    def handlers(self) -> dict[str, Handler]:
        return {
            EventType.USER_REGISTERED: self.on_registered,
            EventType.USER_LOGGED_IN: self.on_logged_in,
        }

    async def on_registered(self, event: AuthEvent) -> None:
        data = event.data
        await self._upsert(
            data["user_id"],
            {
                "$set": {
                    "email": data["email"],
                    "display_name": data["display_name"],
                    "registered_at": parse_time(data["registered_at"]),
                    "updated_at": datetime.now(UTC),
                },
                "$setOnInsert": self._new_profile(),
            },
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
            {"_id": user_id, "recent_login_ids": {"$ne": event.id}},
            {
                "$inc": {"login_count": 1},
                "$max": {"last_login_at": parse_time(data["logged_in_at"])},
                "$push": {"recent_login_ids": event.id},
                "$set": {"updated_at": datetime.now(UTC)},
            },
        )
        if counted.modified_count:
            await self._forget_oldest_login(user_id)

    async def _forget_oldest_login(self, user_id: str) -> None:
        # $push with $slice would do this in the same write; a guarded $pop needs only the
        # operators every MongoDB-wire server has. If it is lost the list is one longer.
        await self._profiles.update_one(
            {"_id": user_id, f"recent_login_ids.{RECENT_LOGINS}": {"$exists": True}},
            {"$pop": {"recent_login_ids": -1}},
        )

    async def _upsert(self, user_id: str, update: Document) -> None:
        try:
            await self._profiles.update_one({"_id": user_id}, update, upsert=True)
        except DuplicateKeyError:
            # Two first events of one user raced to insert; the loser is now an update.
            await self._profiles.update_one({"_id": user_id}, update, upsert=True)

    @staticmethod
    def _new_profile() -> Document:
        return {"login_count": 0, "recent_login_ids": [], "created_at": datetime.now(UTC)}

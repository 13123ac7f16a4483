"""A short-lived, bounded, per-process cache of user profiles for /auth/me.

Profiles change rarely (a verified or changed address; roles or a disable, through the
admin API), the instance that changes one forgets its entry, and every request still
checks revocation in Redis (a disable revokes every token at once): another instance
serving a profile up to a few seconds old costs little in correctness and saves a
MongoDB read on the hottest authenticated path."""

from __future__ import annotations

import time
from collections import OrderedDict

from auth_api.model.user import User


class ProfileCache:
    def __init__(self, ttl_seconds: float, max_entries: int = 10_000) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._entries: OrderedDict[str, tuple[float, User]] = OrderedDict()

    def get(self, user_id: str) -> User | None:
        entry = self._entries.get(user_id)
        if entry is None:
            return None
        stored_at, user = entry
        if time.monotonic() - stored_at > self._ttl:
            del self._entries[user_id]
            return None
        return user

    def put(self, user: User) -> None:
        if self._ttl <= 0:
            return
        self._entries[user.id] = (time.monotonic(), user)
        self._entries.move_to_end(user.id)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)  # the least recently stored

    def discard(self, user_id: str) -> None:
        self._entries.pop(user_id, None)

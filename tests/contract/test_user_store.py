"""The contract every UserStore/Outbox implementation keeps."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from auth_api.errors import EmailAlreadyRegistered
from auth_api.events.model import EventType, PendingEvent
from auth_api.users.memory_store import MemoryUserStore
from auth_api.users.models import User, new_user_id, utc_now
from auth_api.users.mongo_store import MongoUserStore

Store = MemoryUserStore | MongoUserStore


def make_user(email: str = "a@example.com") -> User:
    now = utc_now()
    return User(new_user_id(), email.upper(), email, "A", "$argon2id$fake", now, now)


def event(user: User, type_: EventType = EventType.USER_REGISTERED) -> PendingEvent:
    return PendingEvent.create(type_, user.id, utc_now(), {"user_id": user.id})


async def test_create_then_find(user_store: Store) -> None:
    user = make_user()
    await user_store.create(user, event(user))
    assert await user_store.find_by_email("a@example.com") == user
    assert await user_store.find_by_id(user.id) == user
    assert await user_store.find_by_email("b@example.com") is None
    assert await user_store.find_by_id("missing") is None


async def test_duplicate_email_is_refused_and_leaves_no_event(user_store: Store) -> None:
    first, second = make_user(), make_user()
    await user_store.create(first, event(first))
    with pytest.raises(EmailAlreadyRegistered):
        await user_store.create(second, event(second))
    pending = await user_store.pending(100)
    assert [batch.user_id for batch in pending] == [first.id]


async def test_concurrent_creates_of_one_email_admit_exactly_one(user_store: Store) -> None:
    users = [make_user() for _ in range(20)]
    results = await asyncio.gather(
        *(user_store.create(u, event(u)) for u in users), return_exceptions=True
    )
    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, EmailAlreadyRegistered) for r in results if r is not None)


async def test_record_login_updates_user_and_appends_event(user_store: Store) -> None:
    user = make_user()
    registered = event(user)
    await user_store.create(user, registered)
    at = utc_now() + timedelta(seconds=5)
    logged_in = event(user, EventType.USER_LOGGED_IN)
    await user_store.record_login(user.id, at, logged_in, new_hash="$argon2id$new")
    stored = await user_store.find_by_id(user.id)
    assert stored is not None
    assert stored.last_login_at == at
    assert stored.password_hash == "$argon2id$new"
    [batch] = await user_store.pending(10)
    assert [e.id for e in batch.events] == [registered.id, logged_in.id]
    assert batch.events[1] == logged_in


async def test_mark_delivered_removes_only_those_events(user_store: Store) -> None:
    user = make_user()
    first, second = event(user), event(user, EventType.USER_LOGGED_IN)
    await user_store.create(user, first)
    await user_store.append_event(user.id, second)
    await user_store.mark_delivered(user.id, [first.id])
    [batch] = await user_store.pending(10)
    assert [e.id for e in batch.events] == [second.id]
    assert (await user_store.backlog())[0] == 1
    await user_store.mark_delivered(user.id, [second.id])
    assert await user_store.pending(10) == []
    assert await user_store.backlog() == (0, None)


async def test_events_for_unknown_users_are_not_recorded(user_store: Store) -> None:
    ghost = make_user()
    await user_store.append_event(ghost.id, event(ghost))
    await user_store.record_login(ghost.id, utc_now(), event(ghost), None)
    assert await user_store.pending(10) == []

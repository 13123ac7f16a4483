"""Guarded writes (ending an active session) decide on what they read and write only if
nothing was written in between; otherwise they read and decide again, a bounded number
of times. A refresh's compare-and-set is narrower: one conditional write on the session
itself (test_user_store.py), which other writes to the user do not disturb."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo import AsyncMongoClient

from auth_api.errors import WriteContention
from auth_api.model.clock import utc_now
from auth_api.model.events import EventType
from auth_api.store.memory import MemoryUserStore
from auth_api.store.mongo import MongoUserStore
from auth_api.store.ports import GUARDED_WRITE_ATTEMPTS
from tests.conftest import drop_test_data
from tests.contract.test_user_store import (
    event,
    login_record,
    make_session,
    make_user,
    record_event,
)
from tests.contract.twins import InterferingMemoryStore, InterferingMongoStore
from tests.support.servers import Servers

Store = InterferingMemoryStore | InterferingMongoStore
UserStore = MemoryUserStore | MongoUserStore


async def test_an_unrelated_write_in_between_is_retried_past(interfering_store: Store) -> None:
    store = interfering_store
    user = make_user()
    await store.create(user, event(user))
    session = make_session()
    await store.record_login(login_record(user, session))
    other = make_session()

    async def another_login() -> None:
        await store.record_login(login_record(user, other))

    store.interference, store.times = another_login, 1
    ended = session.revoked(utc_now(), "logout")
    assert await store.end_sessions(user.id, [ended], event(user), only_if_active=True)
    stored = await store.sessions_of(user.id) or {}
    assert stored[session.id].revoked_reason == "logout"
    assert other.id in stored  # the write in between is kept too


async def test_writes_in_between_every_time_end_in_write_contention(
    interfering_store: Store,
) -> None:
    store = interfering_store
    user = make_user()
    await store.create(user, event(user))
    session = make_session()
    await store.record_login(login_record(user, session))
    writes = 0

    async def unrelated_event() -> None:
        nonlocal writes
        writes += 1
        await record_event(store, user.id, event(user, EventType.USER_LOGGED_IN))

    store.interference, store.times = unrelated_event, GUARDED_WRITE_ATTEMPTS
    ended = session.revoked(utc_now(), "logout")
    with pytest.raises(WriteContention):
        await store.end_sessions(user.id, [ended], event(user), only_if_active=True)
    assert writes == GUARDED_WRITE_ATTEMPTS
    assert (await store.sessions_of(user.id) or {})[session.id].revoked_at is None


async def test_a_revoked_session_is_not_replaced(user_store: UserStore) -> None:
    user = make_user()
    await user_store.create(user, event(user))
    session = make_session(refresh_hash="h0")
    await user_store.record_login(login_record(user, session))
    ended = session.revoked(utc_now(), "logout")
    assert await user_store.end_sessions(user.id, [ended], event(user), only_if_active=True)
    assert not await user_store.replace_session(user.id, "h0", session.rotated("h1", utc_now(), ""))
    assert (await user_store.sessions_of(user.id) or {})[session.id].refresh_hash == "h0"


async def test_ending_a_session_revoked_in_between_records_nothing(
    interfering_store: Store,
) -> None:
    store = interfering_store
    user = make_user()
    await store.create(user, event(user))
    session = make_session()
    await store.record_login(login_record(user, session))
    first_end = event(user, EventType.SESSION_REVOKED)

    async def concurrent_logout() -> None:
        store.times = 0
        ended = session.revoked(utc_now(), "logout")
        assert await store.end_sessions(user.id, [ended], first_end, only_if_active=True)

    store.interference, store.times = concurrent_logout, 1
    second_end = event(user, EventType.SESSION_REVOKED)
    ended = session.revoked(utc_now(), "logout_all")
    assert not await store.end_sessions(user.id, [ended], second_end, only_if_active=True)
    [batch] = await store.pending(10)
    ids = [e.id for e in batch.events]
    assert first_end.id in ids
    assert second_end.id not in ids
    assert (await store.sessions_of(user.id) or {})[session.id].revoked_reason == "logout"


async def test_a_document_written_before_versions_takes_guarded_writes(
    servers: Servers, isolation: dict[str, str]
) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongo_url, tz_aware=True)
    users = client[isolation["mongo_db"]]["users"]
    store = MongoUserStore(client, isolation["mongo_db"])
    try:
        await store.setup()
        user = make_user()
        await store.create(user, event(user))
        session = make_session(refresh_hash="h0")
        await store.record_login(login_record(user, session))
        await users.update_one({"_id": user.id}, {"$unset": {"v": ""}})  # as an older release
        assert await store.replace_session(user.id, "h0", session.rotated("h1", utc_now(), ""))
        stored = await users.find_one({"_id": user.id}, {"v": 1})
        assert stored is not None
        assert stored["v"] == 1
    finally:
        await client.close()
        await drop_test_data(servers, isolation)

"""The contract every AdminStore keeps, against the in-memory twin and MongoDB: a stable,
filtered, paged listing, and writes that record their events with the change and do
nothing when the state they were decided on has moved."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from auth_api.errors import WriteContention
from auth_api.model.clock import utc_now
from auth_api.model.events import EventType, PendingEvent
from auth_api.model.user import User, new_user_id
from auth_api.store import mongo_admin
from auth_api.store.admin_ports import Disabling, Enabling, RolesChange, UserQuery
from auth_api.store.memory import MemoryUserStore
from auth_api.store.memory_admin import MemoryAdminStore
from auth_api.store.mongo import MongoUserStore
from auth_api.store.mongo_admin import REMOVAL_LOCK, MongoAdminStore
from auth_api.store.ports import LoginRecord
from tests.conftest import drop_test_data
from tests.contract.test_user_store import make_session
from tests.support.servers import Servers

USER = frozenset({"user"})
ADMIN = frozenset({"user", "admin"})


@dataclasses.dataclass
class Stores:
    users: MemoryUserStore | MongoUserStore
    admin: MemoryAdminStore | MongoAdminStore
    raw: Any = None  # the MongoDB collection, to write documents of earlier releases


@asynccontextmanager
async def mongo_adapters(servers: Servers, isolation: dict[str, str]) -> AsyncIterator[Stores]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongo_url, tz_aware=True)
    store = MongoUserStore(client, isolation["mongo_db"])
    await store.setup()
    try:
        yield Stores(
            store,
            MongoAdminStore(store, client, isolation["mongo_db"]),
            client[isolation["mongo_db"]]["users"],
        )
    finally:
        await client.close()
        await drop_test_data(servers, isolation)


@pytest.fixture(params=["memory", "mongo"])
async def stores(
    request: pytest.FixtureRequest, isolation: dict[str, str]
) -> AsyncIterator[Stores]:
    if request.param == "memory":
        memory = MemoryUserStore()
        yield Stores(memory, MemoryAdminStore(memory))
        return
    async with mongo_adapters(request.getfixturevalue("servers"), isolation) as adapters:
        yield adapters


@pytest.fixture
async def mongo_stores(servers: Servers, isolation: dict[str, str]) -> AsyncIterator[Stores]:
    async with mongo_adapters(servers, isolation) as adapters:
        yield adapters


def an_event(user_id: str, type_: EventType = EventType.USER_ROLES_CHANGED) -> PendingEvent:
    return PendingEvent.create(type_, user_id, utc_now(), {"user_id": user_id})


async def add_user(stores: Stores, email: str, roles: frozenset[str] = USER) -> User:
    now = utc_now()
    user = User(new_user_id(), email, email, email.partition("@")[0], "$argon2id$x", now, now)
    await stores.users.create(user, an_event(user.id, EventType.USER_REGISTERED))
    if roles != USER:
        change = RolesChange(user.id, USER, roles, now, an_event(user.id))
        assert await stores.admin.change_roles(change)
    return user


async def pending_types(stores: Stores, user_id: str) -> list[str]:
    pending = await stores.users.pending_of(user_id)
    return [str(e.type) for e in pending.events] if pending else []


async def test_pages_cover_every_user_once_in_email_order(stores: Stores) -> None:
    emails = [f"{name}@example.com" for name in ("eve", "ada", "bob", "dan", "cy", "fay", "al")]
    for email in emails:
        await add_user(stores, email)
    seen: list[str] = []
    after: str | None = None
    while True:
        page = await stores.admin.list_users(UserQuery(after=after, limit=3))
        seen += [u.email_normalized for u in page]
        if len(page) < 3:
            break
        after = page[-1].email_normalized
    assert seen == sorted(emails)
    assert all(not u.sessions for u in page)


async def test_an_email_prefix_is_a_range_of_the_sorted_key(stores: Stores) -> None:
    for email in ("ada@example.com", "adam@example.com", "adb@example.com", "ad@example.com"):
        await add_user(stores, email)
    found = await stores.admin.list_users(UserQuery(email_prefix="ada", limit=10))
    assert [u.email for u in found] == ["ada@example.com", "adam@example.com"]
    after_first = await stores.admin.list_users(
        UserQuery(email_prefix="ada", after="ada@example.com", limit=10)
    )
    assert [u.email for u in after_first] == ["adam@example.com"]


async def test_role_and_state_filters(stores: Stores) -> None:
    admin = await add_user(stores, "boss@example.com", ADMIN)
    plain = await add_user(stores, "plain@example.com")
    gone = await add_user(stores, "gone@example.com")
    assert await stores.admin.disable(Disabling(gone.id, utc_now(), "spam", []))

    async def emails(**query: Any) -> list[str]:
        return [u.email for u in await stores.admin.list_users(UserQuery(limit=10, **query))]

    assert await emails(role="admin") == [admin.email]
    assert await emails(role="user") == [admin.email, gone.email, plain.email]
    assert await emails(disabled=True) == [gone.email]
    assert await emails(disabled=False) == [admin.email, plain.email]
    assert await emails(role="admin", disabled=True) == []


async def test_a_role_change_is_a_compare_and_set_with_its_event(stores: Stores) -> None:
    user = await add_user(stores, "ada@example.com")
    quizmaster = frozenset({"user", "quizmaster"})
    stale = RolesChange(user.id, ADMIN, quizmaster, utc_now(), an_event(user.id))
    assert not await stores.admin.change_roles(stale)
    assert await pending_types(stores, user.id) == ["user.registered"]
    change = RolesChange(user.id, USER, quizmaster, utc_now(), an_event(user.id))
    assert await stores.admin.change_roles(change)
    assert not await stores.admin.change_roles(change)  # the roles moved on
    stored = await stores.users.find_by_id(user.id)
    assert stored is not None
    assert stored.roles == quizmaster
    assert await pending_types(stores, user.id) == ["user.registered", "user.roles_changed"]


async def test_a_document_of_an_earlier_release_reads_and_changes_its_single_role(
    mongo_stores: Stores,
) -> None:
    stores = mongo_stores
    user = await add_user(stores, "old@example.com")
    await stores.raw.update_one(
        {"_id": user.id}, {"$set": {"role": "user"}, "$unset": {"roles": ""}}
    )
    stored = await stores.users.find_by_id(user.id)
    assert stored is not None
    assert stored.roles == USER
    assert await stores.admin.count_admins() == 0
    assert await stores.admin.change_roles(
        RolesChange(user.id, USER, ADMIN, utc_now(), an_event(user.id))
    )
    doc = await stores.raw.find_one({"_id": user.id})
    assert (doc["roles"], "role" in doc) == (["admin", "user"], False)
    assert await stores.admin.count_admins() == 1


async def test_disable_ends_sessions_records_its_events_and_happens_once(stores: Stores) -> None:
    user = await add_user(stores, "ada@example.com")
    session = make_session()
    await stores.users.record_login(
        LoginRecord(
            user.id,
            utc_now(),
            an_event(user.id, EventType.USER_LOGGED_IN),
            None,
            session,
            checked_hash=user.password_hash,
        )
    )
    now = utc_now()
    ended = session.revoked(now, "account_disabled")
    events = [
        an_event(user.id, EventType.USER_DISABLED),
        an_event(user.id, EventType.SESSION_REVOKED),
    ]
    assert await stores.admin.disable(Disabling(user.id, now, "spam", [ended], events))
    assert not await stores.admin.disable(Disabling(user.id, now, "again", [], [events[0]]))
    stored = await stores.users.find_with_sessions(user.id)
    assert stored is not None
    assert (stored.is_active, stored.disabled_reason, stored.disabled_at) == (False, "spam", now)
    assert stored.sessions[session.id].revoked_at == now
    assert await pending_types(stores, user.id) == [
        "user.registered",
        "user.logged_in",
        "user.disabled",
        "session.revoked",
    ]


async def test_enable_happens_only_to_a_disabled_user(stores: Stores) -> None:
    admin = await add_user(stores, "ada@example.com", ADMIN)
    assert await stores.admin.count_admins() == 1
    assert not await stores.admin.enable(Enabling(admin.id, utc_now(), an_event(admin.id)))
    assert await stores.admin.disable(Disabling(admin.id, utc_now(), "leave", []))
    assert await stores.admin.count_admins() == 0
    later = utc_now()
    assert await stores.admin.enable(Enabling(admin.id, later, an_event(admin.id)))
    stored = await stores.users.find_by_id(admin.id)
    assert stored is not None
    assert (stored.is_active, stored.enabled_at, stored.disabled_at) == (True, later, None)
    assert await stores.admin.count_admins() == 1


async def test_events_that_follow_a_change_are_recorded_for_the_relay(stores: Stores) -> None:
    user = await add_user(stores, "ada@example.com")
    follow_up = an_event(user.id, EventType.USER_TOKENS_REVOKED)
    assert await stores.admin.record_events(user.id, [follow_up])
    assert not await stores.admin.record_events("no-such-user", [an_event("no-such-user")])
    assert await pending_types(stores, user.id) == ["user.registered", "user.tokens_revoked"]
    pending = await stores.users.pending(10)
    assert [batch.user_id for batch in pending] == [user.id]


async def test_a_deleted_accounts_tombstone_is_not_listed_nor_enabled(stores: Stores) -> None:
    gone = await add_user(stores, "gone@example.com")
    kept = await add_user(stores, "kept@example.com")
    assert await stores.admin.disable(Disabling(gone.id, utc_now(), "deleted", []))
    await mark_deleted(stores, gone.id)
    listed = await stores.admin.list_users(UserQuery(limit=10))
    assert [u.id for u in listed] == [kept.id]
    assert not await stores.admin.enable(Enabling(gone.id, utc_now(), an_event(gone.id)))


async def mark_deleted(stores: Stores, user_id: str) -> None:
    """What a deletion leaves (accounts/closure.py): only its marks matter here."""
    if stores.raw is not None:
        await stores.raw.update_one({"_id": user_id}, {"$set": {"deleted_at": utc_now()}})
    else:
        stores.users.users[user_id].deleted_at = utc_now()


async def test_the_admin_removal_lock_is_held_by_one_at_a_time(stores: Stores) -> None:
    """Two holders on two instances (two adapters over one database, for MongoDB): the
    second enters only once the first has left."""
    other = stores.admin
    if isinstance(stores.users, MongoUserStore):
        database = stores.raw.database
        other = MongoAdminStore(stores.users, database.client, database.name)
    order: list[str] = []
    first_in = asyncio.Event()

    async def first() -> None:
        async with stores.admin.admin_removal():
            order.append("first in")
            first_in.set()
            await asyncio.sleep(0.2)
            order.append("first out")

    async def second() -> None:
        await first_in.wait()
        async with other.admin_removal():
            order.append("second in")

    await asyncio.gather(first(), second())
    assert order == ["first in", "first out", "second in"]


async def test_a_removal_lock_left_by_a_crashed_holder_is_taken_over_once_expired(
    mongo_stores: Stores,
) -> None:
    locks = mongo_stores.raw.database["locks"]
    stale = utc_now() - timedelta(seconds=1)
    await locks.insert_one({"_id": REMOVAL_LOCK, "token": "crashed", "expires_at": stale})
    async with mongo_stores.admin.admin_removal():
        held = await locks.find_one({"_id": REMOVAL_LOCK})
        assert held is not None
        assert held["token"] != "crashed"
    assert await locks.find_one({"_id": REMOVAL_LOCK}) is None


async def test_a_removal_lock_held_too_long_is_a_503_not_a_hang(
    mongo_stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    locks = mongo_stores.raw.database["locks"]
    held = utc_now() + timedelta(minutes=1)
    await locks.insert_one({"_id": REMOVAL_LOCK, "token": "busy", "expires_at": held})
    monkeypatch.setattr(mongo_admin, "REMOVAL_WAIT_SECONDS", 0.2)
    with pytest.raises(WriteContention):
        async with mongo_stores.admin.admin_removal():
            pytest.fail("entered a lock another holds")

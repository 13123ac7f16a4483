"""The contract every UserStore/Outbox implementation keeps."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timedelta

import pytest

from auth_api.errors import EmailAlreadyRegistered
from auth_api.model.clock import utc_now
from auth_api.model.events import EventType, PendingEvent
from auth_api.model.session import Session, new_session_id
from auth_api.model.user import User, new_user_id
from auth_api.store.memory import MemoryUserStore
from auth_api.store.mongo import MongoUserStore
from auth_api.store.ports import LoginRecord

FAKE_HASH = "$argon2id$fake"

Store = MemoryUserStore | MongoUserStore


def make_user(email: str = "a@example.com") -> User:
    now = utc_now()
    return User(new_user_id(), email.upper(), email, "A", FAKE_HASH, now, now)


def event(user: User, type_: EventType = EventType.USER_REGISTERED) -> PendingEvent:
    return PendingEvent.create(type_, user.id, utc_now(), {"user_id": user.id})


async def record_event(store: Store, user_id: str, recorded: PendingEvent) -> None:
    """Record one more event through a write the service makes: a login carries one."""
    login = LoginRecord(user_id, utc_now(), recorded, None, make_session(), checked_hash=FAKE_HASH)
    await store.record_login(login)


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


def make_session(at: datetime | None = None, refresh_hash: str = "h0") -> Session:
    at = at or utc_now()
    return Session(
        id=new_session_id(),
        created_at=at,
        last_used_at=at,
        expires_at=at + timedelta(days=30),
        user_agent="test",
        refresh_hash=refresh_hash,
    )


def login_record(user: User, session: Session, stale: list[str] | None = None) -> LoginRecord:
    logged_in = event(user, EventType.USER_LOGGED_IN)
    return LoginRecord(
        user.id, session.created_at, logged_in, None, session, stale or [], checked_hash=FAKE_HASH
    )


async def test_record_login_updates_user_opens_session_and_appends_event(
    user_store: Store,
) -> None:
    user = make_user()
    registered = event(user)
    await user_store.create(user, registered)
    at = utc_now() + timedelta(seconds=5)
    session = make_session(at)
    logged_in = event(user, EventType.USER_LOGGED_IN)
    login = LoginRecord(user.id, at, logged_in, "$argon2id$new", session, checked_hash=FAKE_HASH)
    assert await user_store.record_login(login)
    stored = await user_store.find_by_id(user.id)
    assert stored is not None
    assert stored.last_login_at == at
    assert stored.password_hash == "$argon2id$new"
    assert await user_store.sessions_of(user.id) == {session.id: session}
    [batch] = await user_store.pending(10)
    assert [e.id for e in batch.events] == [registered.id, logged_in.id]
    assert batch.events[1] == logged_in


async def test_login_drops_stale_sessions(user_store: Store) -> None:
    user = make_user()
    await user_store.create(user, event(user))
    first, second = make_session(), make_session()
    await user_store.record_login(login_record(user, first))
    await user_store.record_login(login_record(user, second, stale=[first.id]))
    assert list((await user_store.sessions_of(user.id) or {}).keys()) == [second.id]


async def test_a_login_that_evicts_records_both_events_in_order(user_store: Store) -> None:
    user = make_user()
    await user_store.create(user, event(user))
    evicted, newest = make_session(), make_session()
    await user_store.record_login(login_record(user, evicted))
    logged_in = event(user, EventType.USER_LOGGED_IN)
    revoked = event(user, EventType.SESSION_REVOKED)
    record = LoginRecord(
        user.id, utc_now(), logged_in, None, newest, [evicted.id], [revoked], checked_hash=FAKE_HASH
    )
    await user_store.record_login(record)
    assert list((await user_store.sessions_of(user.id) or {}).keys()) == [newest.id]
    [batch] = await user_store.pending(10)
    assert [e.id for e in batch.events][-2:] == [logged_in.id, revoked.id]


async def test_replace_session_is_a_compare_and_set(user_store: Store) -> None:
    user = make_user()
    await user_store.create(user, event(user))
    session = make_session(refresh_hash="h0")
    await user_store.record_login(login_record(user, session))
    rotated = session.rotated("h1", utc_now(), "agent")
    assert await user_store.replace_session(user.id, "h0", rotated)
    assert not await user_store.replace_session(user.id, "h0", session.rotated("hx", utc_now(), ""))
    stored = (await user_store.sessions_of(user.id) or {})[session.id]
    assert stored.refresh_hash == "h1"
    assert stored.spent_hashes == ("h0",)


async def test_concurrent_replacements_admit_one(user_store: Store) -> None:
    user = make_user()
    await user_store.create(user, event(user))
    session = make_session(refresh_hash="h0")
    await user_store.record_login(login_record(user, session))
    results = await asyncio.gather(
        *(
            user_store.replace_session(user.id, "h0", session.rotated(f"n{i}", utc_now(), ""))
            for i in range(10)
        )
    )
    assert sum(results) == 1


async def test_end_sessions_records_the_event_once(user_store: Store) -> None:
    user = make_user()
    await user_store.create(user, event(user))
    session = make_session()
    await user_store.record_login(login_record(user, session))
    ended = session.revoked(utc_now(), "logout")
    revoked = event(user, EventType.SESSION_REVOKED)
    assert await user_store.end_sessions(user.id, [ended], revoked, only_if_active=True)
    again = event(user, EventType.SESSION_REVOKED)
    assert not await user_store.end_sessions(user.id, [ended], again, only_if_active=True)
    stored = (await user_store.sessions_of(user.id) or {})[session.id]
    assert stored.revoked_reason == "logout"
    assert not await user_store.replace_session(user.id, "h0", session.rotated("h1", utc_now(), ""))
    [batch] = await user_store.pending(10)
    assert [e.id for e in batch.events][-1] == revoked.id
    assert again.id not in [e.id for e in batch.events]


async def test_end_sessions_records_every_event_in_order(user_store: Store) -> None:
    user = make_user()
    await user_store.create(user, event(user))
    session = make_session()
    await user_store.record_login(login_record(user, session))
    cut_off = event(user, EventType.USER_TOKENS_REVOKED)
    revoked = event(user, EventType.SESSION_REVOKED)
    ended = session.revoked(utc_now(), "logout_all")
    assert await user_store.end_sessions(
        user.id, [ended], cut_off, only_if_active=False, more_events=[revoked]
    )
    # With no session left to end, the events alone are recorded.
    later = event(user, EventType.USER_TOKENS_REVOKED)
    assert await user_store.end_sessions(user.id, [], later, only_if_active=False)
    [batch] = await user_store.pending(10)
    assert [e.id for e in batch.events][-3:] == [cut_off.id, revoked.id, later.id]
    assert (await user_store.sessions_of(user.id) or {})[session.id].revoked_reason == "logout_all"


async def test_mark_delivered_removes_only_those_events(user_store: Store) -> None:
    user = make_user()
    first, second = event(user), event(user, EventType.USER_LOGGED_IN)
    await user_store.create(user, first)
    await record_event(user_store, user.id, second)
    await user_store.mark_delivered(user.id, [first])
    [batch] = await user_store.pending(10)
    assert [e.id for e in batch.events] == [second.id]
    assert (await user_store.backlog())[0] == 1
    await user_store.mark_delivered(user.id, [second])
    assert await user_store.pending(10) == []
    assert await user_store.backlog() == (0, None)


async def test_marking_an_event_delivered_twice_is_harmless(user_store: Store) -> None:
    """As when two instances' relays deliver the same event."""
    user = make_user()
    first, second = event(user), event(user, EventType.USER_LOGGED_IN)
    await user_store.create(user, first)
    await record_event(user_store, user.id, second)
    await asyncio.gather(*(user_store.mark_delivered(user.id, [first]) for _ in range(2)))
    await user_store.mark_delivered(user.id, [first])
    [batch] = await user_store.pending(10)
    assert [e.id for e in batch.events] == [second.id]


async def test_an_event_stored_in_another_form_is_still_removed_by_its_id(
    user_store: Store,
) -> None:
    """The relay's copy can differ from the stored value (a field added by another
    release, say); the event must still leave the outbox, or it is delivered forever."""
    user = make_user()
    first, second = event(user), event(user, EventType.USER_LOGGED_IN)
    await user_store.create(user, first)
    await record_event(user_store, user.id, second)
    relays_copy = dataclasses.replace(first, data={**first.data, "added_later": True})
    await user_store.mark_delivered(user.id, [relays_copy, second])
    assert await user_store.pending(10) == []


async def test_events_for_unknown_users_are_not_recorded(user_store: Store) -> None:
    ghost = make_user()
    await record_event(user_store, ghost.id, event(ghost))
    await user_store.record_login(login_record(ghost, make_session()))
    assert await user_store.pending(10) == []
    assert await user_store.sessions_of(ghost.id) is None


async def test_concurrent_writes_to_one_user_lose_nothing(user_store: Store) -> None:
    """Single-document atomicity, which the outbox relies on. FerretDB 1.24 lost such
    updates unless a proxy ran writes one at a time; MongoDB and the stack's
    mongo-java-server keep them all."""
    user = make_user()
    await user_store.create(user, event(user))
    extra = [event(user, EventType.USER_LOGGED_OUT) for _ in range(40)]
    await asyncio.gather(*(record_event(user_store, user.id, e) for e in extra))
    [batch] = await user_store.pending(10)
    assert len(batch.events) == 41


async def test_events_of_unknown_types_are_still_pending(user_store: Store) -> None:
    """A type written by a newer release survives a rollback: it is read, not refused."""
    user = make_user()
    future = PendingEvent("e-future", "user.renamed", user.id, utc_now(), {"user_id": user.id})
    await user_store.create(user, future)
    [batch] = await user_store.pending(10)
    assert batch.events[0].type == "user.renamed"


async def test_pending_of_reads_one_users_events(user_store: Store) -> None:
    first, second = make_user("one@example.com"), make_user("two@example.com")
    registered = event(first)
    await user_store.create(first, registered)
    await user_store.create(second, event(second))
    batch = await user_store.pending_of(first.id)
    assert batch is not None
    assert [e.id for e in batch.events] == [registered.id]
    await user_store.mark_delivered(first.id, [registered])
    assert await user_store.pending_of(first.id) is None
    assert await user_store.pending_of("nobody") is None

"""The pending markers every Outbox keeps: one per user with undelivered events, found
by the relay's sweep instead of the users themselves."""

from __future__ import annotations

from datetime import timedelta

from auth_api.model.clock import utc_now
from auth_api.model.events import EventType, PendingEvent
from auth_api.model.user import User
from tests.contract.test_user_store import event, make_user, record_event
from tests.contract.twins import Store, Twin


async def registered(store: Store, count: int) -> list[User]:
    users = [make_user(f"u{index}@example.com") for index in range(count)]
    for user in users:
        await store.create(user, event(user))
    return users


async def test_a_marker_lives_exactly_while_its_user_has_events(twin: Twin) -> None:
    store = twin.store
    user = make_user()
    first, second = event(user), event(user, EventType.USER_LOGGED_IN)
    await store.create(user, first)
    await record_event(store, user.id, second)
    assert await twin.markers.ids() == [user.id]
    assert (await store.backlog())[0] == 2
    await store.mark_delivered(user.id, [first])
    assert await twin.markers.ids() == [user.id]
    assert (await store.backlog())[0] == 1
    await store.mark_delivered(user.id, [second])
    assert await twin.markers.ids() == []


async def test_an_event_recorded_during_a_delivery_keeps_the_marker(twin: Twin) -> None:
    store = twin.store
    user = make_user()
    await store.create(user, event(user))
    [read] = await store.pending(10)  # the relay's read ...
    later = event(user, EventType.USER_LOGGED_IN)
    await record_event(store, user.id, later)  # ... a request's event meanwhile ...
    await store.mark_delivered(user.id, read.events)  # ... and the relay's removal
    assert await twin.markers.ids() == [user.id]
    [batch] = await store.pending(10)
    assert [e.id for e in batch.events] == [later.id]


async def test_a_marker_without_events_is_dropped_by_the_sweep(twin: Twin) -> None:
    [user] = await registered(twin.store, 1)
    await twin.store.mark_delivered(user.id, (await twin.store.pending(10))[0].events)
    await twin.markers.plant(user.id)
    await twin.markers.plant("no-such-user")
    assert await twin.store.pending(10) == []
    assert await twin.markers.ids() == []


async def test_delivering_a_page_brings_the_next_users_into_the_next(twin: Twin) -> None:
    users = await registered(twin.store, 5)
    seen: list[str] = []
    full = True
    while full:
        page = await twin.store.pending_page(2)
        assert len(page.batches) <= 2
        for batch in page.batches:
            await twin.store.mark_delivered(batch.user_id, batch.events)
        seen += [batch.user_id for batch in page.batches]
        full = page.full
    assert sorted(seen) == sorted(u.id for u in users)
    assert await twin.markers.ids() == []


async def test_the_backstop_marks_events_left_without_a_marker(twin: Twin) -> None:
    store = twin.store
    users = await registered(store, 5)
    await record_event(store, users[0].id, event(users[0], EventType.USER_LOGGED_IN))
    await twin.markers.forget()
    assert await store.pending(10) == []  # the sweep cannot see them ...
    after: str | None = ""
    pages = 0
    while after is not None:
        after = await store.restore_markers(2, after)
        pages += 1
    assert pages == 3
    assert await twin.markers.ids() == sorted(u.id for u in users)  # ... now it can
    assert (await store.backlog())[0] == 6
    assert len(await store.pending(10)) == 5


async def test_the_backstop_leaves_existing_markers_as_they_are(twin: Twin) -> None:
    store = twin.store
    [user] = await registered(store, 1)
    await record_event(store, user.id, event(user, EventType.USER_LOGGED_IN))
    before = await store.backlog()
    assert await store.restore_markers(100) is None
    assert await store.backlog() == before


async def test_a_backlog_reading_reads_a_bounded_number_of_markers(twin: Twin) -> None:
    store = twin.store
    oldest = make_user("first@example.com")
    old_event = PendingEvent.create(
        EventType.USER_REGISTERED, oldest.id, utc_now() - timedelta(hours=1), {}
    )
    await store.create(oldest, old_event)
    await registered(store, 4)
    partial = await store.read_backlog(max_users=2)
    assert not partial.complete
    assert partial.events == 2  # a lower bound: two of the five users were read
    assert partial.oldest == old_event.time  # the oldest of all, nonetheless
    whole = await store.read_backlog(max_users=10)
    assert (whole.events, whole.oldest, whole.complete) == (5, old_event.time, True)

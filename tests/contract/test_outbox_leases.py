"""The leases on the pending markers that let many relays share one outbox: one holder
per user at a time, until it lets go or its lease lapses."""

from __future__ import annotations

from datetime import datetime, timedelta

from auth_api.model.clock import utc_now
from auth_api.model.events import EventType
from auth_api.store.ports import LeaseTerms
from tests.contract.test_outbox_markers import registered
from tests.contract.test_user_store import event, make_user, record_event
from tests.contract.twins import Store, Twin

LEASE = timedelta(seconds=30)


def terms(owner: str, now: datetime) -> LeaseTerms:
    return LeaseTerms(owner, now, now + LEASE)


async def test_a_lease_shuts_out_other_relays_until_it_lapses(user_store: Store) -> None:
    [user] = await registered(user_store, 1)
    now = utc_now()
    assert await user_store.lease(user.id, terms("a", now)) is not None
    assert await user_store.lease(user.id, terms("b", now + LEASE / 2)) is None
    # Its holder renews it; once lapsed, anyone may take it.
    assert await user_store.lease(user.id, terms("a", now + LEASE / 2)) is not None
    assert await user_store.lease(user.id, terms("b", now + LEASE)) is None
    assert await user_store.lease(user.id, terms("b", now + LEASE * 2)) is not None
    assert await user_store.lease(user.id, terms("a", now + LEASE * 2)) is None


async def test_a_sweep_sees_only_the_markers_no_lease_holds(user_store: Store) -> None:
    users = await registered(user_store, 3)
    now = utc_now()
    await user_store.lease(users[0].id, terms("a", now))
    page = await user_store.unleased_page(10, now)
    assert sorted(page.user_ids) == sorted(u.id for u in users[1:])
    assert not page.full
    later = await user_store.unleased_page(10, now + LEASE)
    assert sorted(later.user_ids) == sorted(u.id for u in users)


async def test_only_the_holder_lets_go(user_store: Store) -> None:
    [user] = await registered(user_store, 1)
    now = utc_now()
    await user_store.lease(user.id, terms("a", now))
    await user_store.release(user.id, "b")
    assert await user_store.lease(user.id, terms("b", now)) is None
    await user_store.release(user.id, "a")
    assert await user_store.lease(user.id, terms("b", now)) is not None


async def test_an_event_recorded_under_a_lease_keeps_the_lease(user_store: Store) -> None:
    [user] = await registered(user_store, 1)
    now = utc_now()
    await user_store.lease(user.id, terms("a", now))
    await record_event(user_store, user.id, event(user, EventType.USER_LOGGED_IN))
    assert await user_store.lease(user.id, terms("b", now)) is None
    [batch] = await user_store.events_of([user.id])
    assert [e.type for e in batch.events] == ["user.registered", "user.logged_in"]


async def test_a_lease_on_a_user_without_a_marker_makes_one_that_counts_nothing(
    twin: Twin,
) -> None:
    """A hint whose marker write failed still takes a lease, so two relays cannot both
    deliver that user's events."""
    store = twin.store
    user = make_user()
    await store.create(user, event(user))
    await twin.markers.forget()
    now = utc_now()
    lease = await store.lease(user.id, terms("a", now))
    assert lease is not None
    assert lease.version is None
    assert await store.lease(user.id, terms("b", now)) is None
    assert (await store.read_backlog(10)).events == 0
    [batch] = await store.events_of([user.id])
    assert await store.mark_delivered(user.id, batch.events) is False
    assert await twin.markers.ids() == []


async def test_a_leased_marker_without_events_is_dropped_unless_an_event_came(
    twin: Twin,
) -> None:
    store = twin.store
    [user] = await registered(store, 1)
    [batch] = await store.events_of([user.id])
    await store.mark_delivered(user.id, batch.events)
    now = utc_now()
    stale = await store.lease("no-events-user", terms("a", now))
    assert stale is not None
    assert await store.events_of(["no-events-user"]) == []
    assert await store.drop_if_unchanged("no-events-user", stale.version) is True
    held = await store.lease(user.id, terms("a", now))
    assert held is not None
    await record_event(store, user.id, event(user, EventType.USER_LOGGED_IN))
    assert await store.drop_if_unchanged(user.id, held.version) is False
    assert await twin.markers.ids() == [user.id]


async def test_removing_what_was_delivered_tells_whether_more_came(user_store: Store) -> None:
    user = make_user()
    first = event(user)
    await user_store.create(user, first)
    later = event(user, EventType.USER_LOGGED_IN)
    await record_event(user_store, user.id, later)
    assert await user_store.mark_delivered(user.id, [first]) is True
    assert await user_store.mark_delivered(user.id, [later]) is False

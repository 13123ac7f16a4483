"""The broker-kill fault test's checks can fail: each is shown a Kafka that lost,
altered, reordered or duplicated an event (tests/events/test_replicated_kafka.py)."""

from __future__ import annotations

from auth_api.model.clock import utc_now
from auth_api.model.events import EventType, PendingEvent, encode
from tests.events.broker_kill import (
    Copy,
    mismatches,
    order_breaks,
    unexplained_duplicates,
)

PREFIX = "p."


def event(event_id: str, type_: EventType = EventType.USER_LOGGED_IN) -> PendingEvent:
    return PendingEvent(event_id, type_, "user-1", utc_now(), {"user_id": "user-1"})


def copy_of(e: PendingEvent, offset: int, at_ms: int, value: bytes | None = None) -> Copy:
    return Copy(f"{PREFIX}{e.type}", 0, offset, at_ms, b"user-1", value or encode(e))


def test_a_faithful_copy_of_every_event_passes() -> None:
    first, second = event("a"), event("b")
    copies = {"a": [copy_of(first, 0, 1000)], "b": [copy_of(second, 1, 1001)]}
    recorded = {"a": first, "b": second}
    assert list(mismatches(recorded, copies, PREFIX)) == []
    assert list(order_breaks({"user-1": ["a", "b"]}, copies)) == []
    assert unexplained_duplicates(copies, failures=[], timeout=5) == []


def test_a_lost_an_unknown_and_an_altered_event_are_each_named() -> None:
    kept, lost, altered = event("a"), event("b"), event("c")
    copies = {
        "a": [copy_of(kept, 0, 1000)],
        "c": [copy_of(altered, 1, 1001, value=b"{}")],
        "z": [copy_of(event("z"), 2, 1002)],
    }
    found = sorted(mismatches({"a": kept, "b": lost, "c": altered}, copies, PREFIX))
    assert [line.split(":")[0] for line in found] == ["altered", "lost", "never recorded"]


def test_events_out_of_recorded_order_are_found_by_offset_and_by_time() -> None:
    first, second = event("a"), event("b", EventType.USER_LOGGED_OUT)
    by_offset = {"a": [copy_of(first, 5, 1000)], "b": [copy_of(event("b"), 4, 1000)]}
    assert len(list(order_breaks({"user-1": ["a", "b"]}, by_offset))) == 1
    by_time = {"a": [copy_of(first, 0, 2000)], "b": [copy_of(second, 0, 1000)]}
    assert len(list(order_breaks({"user-1": ["a", "b"]}, by_time))) == 1


def test_a_duplicate_is_explained_only_by_a_failed_publish_just_after_it() -> None:
    e = event("a")
    copies = {"a": [copy_of(e, 0, 10_000), copy_of(e, 1, 20_000)]}
    assert unexplained_duplicates(copies, failures=[14.0], timeout=5) == []
    assert unexplained_duplicates(copies, failures=[], timeout=5) == [copies["a"][0]]
    assert unexplained_duplicates(copies, failures=[30.0], timeout=5) == [copies["a"][0]]

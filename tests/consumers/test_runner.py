"""The runner's delivery rules, on the in-process broker: retries, dead letters,
deduplication, order, commits and a graceful stop. No broker, no waits beyond a few
milliseconds; tests/events/test_runner.py shows the same runner on the real Kafka."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict

import pytest

from consumers.dead_letters import dlq_topic
from consumers.events import AuthEvent
from consumers.memory import MemoryBroker
from consumers.processed import MemoryProcessedEvents
from consumers.runner import RunnerConfig
from consumers.transport import CommitFailed, PartitionsRevoked
from tests.consumers.doubles import FlakyCommits, GatedDeadLetters, WithSink, WithSource
from tests.consumers.support import (
    GROUP,
    TOPIC,
    all_committed,
    committed,
    encoded,
    headers_of,
    memory_runner,
    metric,
    on_partition,
    registration,
    running,
    until,
)

PROCESSED = "auth_events_consumer_messages_processed_total"
DEAD_LETTERS = "auth_events_consumer_dead_letters_total"
RETRIES = "auth_events_consumer_retries_total"


async def test_a_failing_handler_is_retried_with_backoff_until_it_succeeds() -> None:
    broker, attempts = MemoryBroker(), []

    async def flaky(event: AuthEvent) -> None:
        attempts.append(event.id)
        if len(attempts) < 3:
            raise ConnectionError("profile store blip")

    envelope = registration()
    broker.publish(TOPIC, b"k", encoded(envelope))
    runner = memory_runner(broker, {TOPIC: flaky}, max_attempts=5)
    async with running(runner):
        await until(all_committed(broker), "the message to be committed")

    assert attempts == [envelope["id"]] * 3
    assert metric(runner, RETRIES, topic=TOPIC) == 2
    assert metric(runner, PROCESSED, topic=TOPIC, outcome="handled") == 1
    assert broker.records(dlq_topic(TOPIC)) == []
    assert committed(broker) == 1


def test_the_retry_delay_doubles_from_the_first_up_to_the_cap() -> None:
    config = RunnerConfig(group_id=GROUP, retry_backoff_seconds=0.5, max_backoff_seconds=3)
    assert [config.retry_delay(attempt) for attempt in range(1, 6)] == [0.5, 1, 2, 3, 3]


async def test_exhausted_retries_dead_letter_the_message_then_commit_after_the_ack() -> None:
    broker, attempts = MemoryBroker(), []

    async def refuses(event: AuthEvent) -> None:
        attempts.append(event.id)
        raise RuntimeError("profile service says no")

    value = encoded(registration())
    source = broker.publish(TOPIC, b"user-1", value, headers=(("traceparent", b"00-ab"),))
    gated = GatedDeadLetters(broker)
    runner = memory_runner(WithSink(broker, gated), {TOPIC: refuses})
    async with running(runner):
        await until(lambda: gated.waiting == 1, "the letter to be sent")
        await asyncio.sleep(0.005)  # time enough for an early commit, were there one
        assert committed(broker) == 0, "committed before the dead-letter topic acknowledged"
        gated.ack.set()
        await until(all_committed(broker), "the commit after the ack")

    assert len(attempts) == 3
    (letter,) = broker.records(dlq_topic(TOPIC))
    assert (letter.key, letter.value) == (b"user-1", value)
    assert letter.headers[0] == ("traceparent", b"00-ab"), "original headers come first"
    headers = headers_of(letter.headers)
    assert headers["dlq.reason"] == "handler_failed"
    assert headers["dlq.error"] == "RuntimeError: profile service says no"
    assert headers["dlq.attempts"] == "3"
    assert headers["dlq.original_topic"] == TOPIC
    assert headers["dlq.original_partition"] == str(source.partition)
    assert headers["dlq.original_offset"] == "0"
    assert headers["dlq.consumer_group"] == GROUP
    assert headers["dlq.failed_at"].endswith("+00:00")
    assert metric(runner, DEAD_LETTERS, topic=TOPIC, reason="handler_failed") == 1
    assert metric(runner, RETRIES, topic=TOPIC) == 2


async def test_unreadable_messages_go_to_the_dlq_at_once_and_consumption_goes_on() -> None:
    broker, handled = MemoryBroker(), []

    async def handler(event: AuthEvent) -> None:
        handled.append(event.id)

    with_password = registration()
    with_password["data"]["password"] = "correct horse battery staple"
    valid = registration()
    messages = [b"{not json", encoded(with_password), encoded(valid)]
    for value in messages:  # one partition: the valid one comes after the two bad ones
        broker.publish(TOPIC, b"k", value, partition=0)
    logins = "user.logged_in"
    broker.publish(logins, b"k", encoded(registration()))  # valid, but not a login
    runner = memory_runner(broker, {TOPIC: handler, logins: handler})
    async with running(runner):
        await until(all_committed(broker), "the three registrations")
        await until(all_committed(broker, logins), "the registration among logins")

    assert handled == [valid["id"]]
    letters = broker.records(dlq_topic(TOPIC))
    assert [letter.value for letter in letters] == messages[:2]
    (misplaced,) = broker.records(dlq_topic(logins))
    headers = [headers_of(letter.headers) for letter in [*letters, misplaced]]
    assert [h["dlq.reason"] for h in headers] == ["malformed", "invalid", "invalid"]
    assert {h["dlq.attempts"] for h in headers} == {"0"}
    assert "not JSON" in headers[0]["dlq.error"]
    assert "password" in headers[1]["dlq.error"]
    assert headers[2]["dlq.error"] == "a user.registered event on a user.logged_in topic"
    assert metric(runner, RETRIES, topic=TOPIC) == 0
    assert committed(broker) == 3


async def test_an_event_already_handled_is_skipped_by_its_id() -> None:
    broker, handled = MemoryBroker(), []

    async def handler(event: AuthEvent) -> None:
        handled.append(event.id)

    processed = MemoryProcessedEvents()
    earlier, twice = registration(), registration()
    await processed.mark_processed(GROUP, earlier["id"])  # handled before a restart
    for envelope in (earlier, twice, twice):  # and a redelivery, within this run
        broker.publish(TOPIC, b"k", encoded(envelope), partition=0)
    runner = memory_runner(broker, {TOPIC: handler}, processed)
    async with running(runner):
        await until(all_committed(broker), "the three messages")

    assert handled == [twice["id"]]
    assert metric(runner, PROCESSED, topic=TOPIC, outcome="handled") == 1
    assert metric(runner, PROCESSED, topic=TOPIC, outcome="duplicate") == 2
    assert await processed.is_processed(GROUP, twice["id"])
    assert not await processed.is_processed("another-group", twice["id"])


async def test_stop_during_a_retry_backoff_leaves_the_message_uncommitted() -> None:
    broker, attempts = MemoryBroker(), []

    async def fails_once(event: AuthEvent) -> None:
        attempts.append(event.id)
        if len(attempts) == 1:
            raise ConnectionError("blip")

    envelope = registration()
    broker.publish(TOPIC, b"k", encoded(envelope))
    # A minute of backoff: only stop() can end it within the test.
    runner = memory_runner(broker, {TOPIC: fails_once}, retry_backoff_seconds=60)
    async with running(runner) as task:
        await until(lambda: len(attempts) == 1, "the first attempt")
        await asyncio.sleep(0.005)
        assert len(attempts) == 1, "retried without waiting"
        runner.stop()
        async with asyncio.timeout(5):
            await task

    assert committed(broker) == 0
    assert broker.records(dlq_topic(TOPIC)) == []
    # The next run gets it again, and handles it.
    again = memory_runner(broker, {TOPIC: fails_once})
    async with running(again):
        await until(all_committed(broker), "the redelivered message")
    assert attempts == [envelope["id"]] * 2


async def test_stop_finishes_the_message_in_progress_and_commits_what_is_done() -> None:
    broker, handled = MemoryBroker(), []
    in_handler, release = asyncio.Event(), asyncio.Event()

    async def handler(event: AuthEvent) -> None:
        if event.data["display_name"] == "second":
            in_handler.set()
            await release.wait()
        handled.append(event.data["display_name"])

    for name in ("first", "second", "third"):
        broker.publish(TOPIC, b"k", encoded(registration(name)), partition=0)
    runner = memory_runner(broker, {TOPIC: handler})
    async with running(runner) as task:
        await until(in_handler.is_set, "the second message to be in progress")
        runner.stop()
        release.set()
        async with asyncio.timeout(5):
            await task

    assert handled == ["first", "second"]
    assert broker.committed(GROUP, on_partition(0)) == 2
    # The rest is the next run's: it starts from the committed offset.
    async with running(memory_runner(broker, {TOPIC: handler})):
        await until(all_committed(broker), "the third message")
    assert handled == ["first", "second", "third"]


async def test_each_partition_keeps_its_order_while_partitions_run_side_by_side() -> None:
    broker = MemoryBroker(partitions=2)
    seen: dict[int, list[int]] = defaultdict(list)
    second_partition_done = asyncio.Event()

    async def handler(event: AuthEvent) -> None:
        partition, number = json.loads(event.data["display_name"])
        if (partition, number) == (0, 0):
            # Partition 0 waits for partition 1: they must not run one after the other.
            await second_partition_done.wait()
        seen[partition].append(number)
        if seen[1] == list(range(5)):
            second_partition_done.set()

    for number in range(5):
        for partition in (0, 1):
            name = json.dumps([partition, number])
            broker.publish(TOPIC, b"k", encoded(registration(name)), partition=partition)
    runner = memory_runner(broker, {TOPIC: handler})
    async with running(runner):
        await until(all_committed(broker), "both partitions")

    assert seen == {0: list(range(5)), 1: list(range(5))}
    lags = "auth_events_consumer_lag"
    assert metric(runner, lags, topic=TOPIC, partition="0") == 0


async def test_a_failed_commit_is_logged_and_consumption_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker, handled = MemoryBroker(), []

    async def handler(event: AuthEvent) -> None:
        handled.append(event.id)

    refusals = [CommitFailed("broker away"), PartitionsRevoked("generation changed")]
    flaky = FlakyCommits(broker.source([TOPIC], GROUP), refusals)
    runner = memory_runner(WithSource(broker, flaky), {TOPIC: handler})
    expected = 0

    def attempted() -> bool:
        return flaky.attempts == expected

    async with running(runner):
        for number in range(3):  # one message per batch, so one commit per message
            broker.publish(TOPIC, b"k", encoded(registration(str(number))), partition=0)
            expected = number + 1
            await until(attempted, f"commit {expected}")
        assert all_committed(broker)(), "the third commit covers all three"

    assert len(handled) == 3
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "commit failed: broker away" in warnings
    assert any("reassigned before the commit" in w for w in warnings)


async def test_a_message_that_cannot_be_dead_lettered_stops_the_runner_uncommitted() -> None:
    broker = MemoryBroker()

    async def handler(event: AuthEvent) -> None:
        raise AssertionError("a malformed message reached the handler")

    broker.publish(TOPIC, b"k", b"{not json")
    gated = GatedDeadLetters(broker, refuse=ConnectionError("dead-letter topic unreachable"))
    runner = memory_runner(WithSink(broker, gated), {TOPIC: handler})
    with pytest.raises(ExceptionGroup) as failure:
        async with asyncio.timeout(5):
            await runner.run()

    assert failure.group_contains(ConnectionError)
    assert committed(broker) == 0
    assert gated.stopped


class StoreDown(Exception):
    """The handler's store cannot be reached: the kind the runner is told to wait out."""


async def test_an_unreachable_store_is_waited_out_however_long_and_never_dead_lettered() -> None:
    """Twice as many failures as the attempts allowed, all of the `unavailable` kind: the
    message is handled once the store answers, not sent to the dead-letter topic."""
    broker, attempts = MemoryBroker(), []

    async def store_down_for_a_while(event: AuthEvent) -> None:
        attempts.append(event.id)
        if len(attempts) <= 6:
            raise StoreDown("server selection timed out")

    broker.publish(TOPIC, b"k", encoded(registration()))
    runner = memory_runner(
        broker, {TOPIC: store_down_for_a_while}, max_attempts=3, unavailable=(StoreDown,)
    )
    async with running(runner):
        await until(all_committed(broker), "the message to be committed")

    assert len(attempts) == 7
    assert broker.records(dlq_topic(TOPIC)) == []
    assert metric(runner, PROCESSED, topic=TOPIC, outcome="handled") == 1
    assert metric(runner, RETRIES, topic=TOPIC) == 6

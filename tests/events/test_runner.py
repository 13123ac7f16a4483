"""The consumer runner: poison messages and failing handlers end in the dead-letter
topic with the reason attached, and consumption goes on behind them."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from auth_api.model.events import EventType, PendingEvent, encode
from auth_api.settings import Settings
from consumers.dead_letters import dlq_topic
from consumers.events import AuthEvent
from consumers.processed import MemoryProcessedEvents, MongoProcessedEvents
from consumers.quiz_profiles import COLLECTION, QuizProfiles
from consumers.schemas import EventSchemas
from consumers.tail import event_topics_pattern, tail
from tests.events.runners import committed, consuming, done_with, metric, quick_runner
from tests.events.support import publish, read_topic
from tests.support.polling import eventually
from tests.support.servers import Servers

pytestmark = pytest.mark.integration
SettingsFactory = Callable[..., Settings]
DEAD_LETTERS = "auth_events_consumer_dead_letters_total"


def registration(display_name: str = "Ada") -> tuple[str, bytes]:
    """A valid user.registered message, as the service would publish it: (key, value)."""
    user_id, now = str(uuid.uuid4()), datetime.now(UTC)
    data = {
        "user_id": user_id,
        "email": f"{user_id[:8]}@example.com",
        "display_name": display_name,
        "registered_at": now,
    }
    return user_id, encode(PendingEvent.create(EventType.USER_REGISTERED, user_id, now, data))


def headers_of(record: Any) -> dict[str, str]:
    return {key: value.decode() for key, value in record.headers}


async def test_malformed_messages_are_dead_lettered_and_consumption_goes_on(
    real_settings: SettingsFactory, servers: Servers, test_db: AsyncDatabase[dict[str, Any]]
) -> None:
    prefix = real_settings().kafka_topic_prefix
    topic = prefix + "user.registered"
    user_id, valid = registration()
    with_password = json.loads(valid)
    with_password["data"]["password"] = "correct horse battery staple"
    # One key, so one partition: the valid event comes after both bad ones.
    key = user_id.encode()
    messages = [(key, b"{not json"), (key, json.dumps(with_password).encode()), (key, valid)]
    handlers = QuizProfiles(test_db[COLLECTION]).handlers()
    runner = quick_runner(
        servers.kafka_bootstrap, prefix, handlers, MongoProcessedEvents(test_db["processed"])
    )
    async with consuming(runner):
        await publish(servers.kafka_bootstrap, topic, messages)
        await eventually(lambda: done_with(runner, topic) == 3, 15, "all three messages")

    assert await test_db[COLLECTION].count_documents({"_id": user_id}) == 1
    assert metric(runner, DEAD_LETTERS, topic=topic, reason="malformed") == 1
    assert metric(runner, DEAD_LETTERS, topic=topic, reason="invalid") == 1
    letters = await read_topic(servers.kafka_bootstrap, dlq_topic(topic))
    assert [(r.key, r.value) for r in letters] == messages[:2]
    (source,) = {r.partition for r in await read_topic(servers.kafka_bootstrap, topic)}
    for offset, (record, reason) in enumerate(zip(letters, ["malformed", "invalid"], strict=True)):
        headers = headers_of(record)
        assert headers["dlq.reason"] == reason
        assert headers["dlq.original_topic"] == topic
        assert headers["dlq.original_partition"] == str(source)
        assert headers["dlq.original_offset"] == str(offset)
    assert "not JSON" in headers_of(letters[0])["dlq.error"]
    assert "password" in headers_of(letters[1])["dlq.error"]
    assert await committed(servers.kafka_bootstrap, runner.group_id, topic) == 3


async def test_a_failing_handler_is_retried_then_dead_lettered(
    real_settings: SettingsFactory, servers: Servers
) -> None:
    prefix = real_settings().kafka_topic_prefix
    topic = prefix + "user.registered"
    attempts: Counter[str] = Counter()
    handled: list[str] = []

    async def handler(event: AuthEvent) -> None:
        attempts[event.data["display_name"]] += 1
        if event.data["display_name"] == "always fails":
            raise RuntimeError("profile service says no")
        if attempts["fails once"] == 1:
            raise ConnectionError("blip")
        handled.append(event.data["display_name"])

    (key, broken), (_, flaky) = registration("always fails"), registration("fails once")
    runner = quick_runner(
        servers.kafka_bootstrap, prefix, {"user.registered": handler}, MemoryProcessedEvents()
    )
    async with consuming(runner):
        await publish(
            servers.kafka_bootstrap, topic, [(key.encode(), broken), (key.encode(), flaky)]
        )
        await eventually(lambda: done_with(runner, topic) == 2, 15, "both messages")

    assert attempts == {"always fails": 3, "fails once": 2}
    assert handled == ["fails once"]
    (letter,) = await read_topic(servers.kafka_bootstrap, dlq_topic(topic))
    assert letter.value == broken
    headers = headers_of(letter)
    assert headers["dlq.reason"] == "handler_failed"
    assert headers["dlq.error"] == "RuntimeError: profile service says no"
    assert headers["dlq.attempts"] == "3"
    assert metric(runner, "auth_events_consumer_retries_total", topic=topic) == 3


async def test_tail_prints_each_event_as_one_json_line(
    real_settings: SettingsFactory, servers: Servers
) -> None:
    prefix = real_settings().kafka_topic_prefix
    user_id, value = registration()
    await publish(servers.kafka_bootstrap, prefix + "user.registered", [(user_id.encode(), value)])
    out = io.StringIO()
    pattern = event_topics_pattern(prefix, EventSchemas().event_types)
    async with asyncio.timeout(15):
        printed = await tail(
            servers.kafka_bootstrap,
            out,
            asyncio.Event(),
            pattern=pattern,
            from_beginning=True,
            limit=1,
        )
    assert printed == 1
    (line,) = out.getvalue().splitlines()
    printed_event = json.loads(line)
    assert printed_event["topic"] == prefix + "user.registered"
    assert printed_event["key"] == user_id
    assert printed_event["event"] == json.loads(value)

"""The reference consumer keeps exactly one profile per user and counts each login
once, however often Kafka delivers an event."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from auth_api.app import create_app
from auth_api.settings import Settings
from consumers.events import AuthEvent, parse_time
from consumers.processed import MongoProcessedEvents
from consumers.quiz_profiles import COLLECTION, RECENT_LOGINS, QuizProfiles
from tests.conftest import running
from tests.events.runners import committed, consuming, done_with, metric, quick_runner
from tests.events.support import envelopes, outbox_drained, publish, read_topic
from tests.support.api import login, register, unique_email
from tests.support.polling import eventually
from tests.support.servers import Servers

pytestmark = pytest.mark.integration
SettingsFactory = Callable[..., Settings]
Database = AsyncDatabase[dict[str, Any]]


def profiles_runner(servers: Servers, settings: Settings, db: Database) -> Any:
    processed = MongoProcessedEvents(db["processed_events"])
    handlers = QuizProfiles(db[COLLECTION]).handlers()
    return quick_runner(servers.kafka_bootstrap, settings.kafka_topic_prefix, handlers, processed)


async def test_a_registration_delivered_twice_creates_one_profile(
    real_settings: SettingsFactory, servers: Servers, test_db: Database
) -> None:
    settings = real_settings()
    topic = settings.kafka_topic_prefix + "user.registered"
    async with running(create_app(settings)) as api:
        user_id = (await register(api, display_name="Ada")).json()["id"]
        await outbox_drained(api)
    (record,) = await read_topic(servers.kafka_bootstrap, topic)
    await publish(servers.kafka_bootstrap, topic, [(record.key, record.value)])

    runner = profiles_runner(servers, settings, test_db)
    async with consuming(runner):
        await eventually(lambda: done_with(runner, topic) == 2, 15, "both deliveries")

        async def all_committed() -> bool:
            return await committed(servers.kafka_bootstrap, runner.group_id, topic) == 2

        await eventually(all_committed, 10, "the offsets to be committed")
    profiles = await test_db[COLLECTION].find().to_list()
    assert [(p["_id"], p["display_name"], p["login_count"]) for p in profiles] == [
        (user_id, "Ada", 0)
    ]
    processed = "auth_events_consumer_messages_processed_total"
    assert metric(runner, processed, topic=topic, outcome="handled") == 1
    assert metric(runner, processed, topic=topic, outcome="duplicate") == 1


async def test_each_login_is_counted_once_despite_redelivery(
    real_settings: SettingsFactory, servers: Servers, test_db: Database
) -> None:
    settings = real_settings()
    topic = settings.kafka_topic_prefix + "user.logged_in"
    async with running(create_app(settings)) as api:
        email = unique_email()
        user_id = (await register(api, email)).json()["id"]
        for _ in range(3):
            assert (await login(api, email)).status_code == 200
        await outbox_drained(api)
    logins = await read_topic(servers.kafka_bootstrap, topic)
    assert len(logins) == 3
    again = [(logins[0].key, logins[0].value), (logins[2].key, logins[2].value)]
    await publish(servers.kafka_bootstrap, topic, again)

    runner = profiles_runner(servers, settings, test_db)
    async with consuming(runner):
        await eventually(lambda: done_with(runner, topic) == 5, 15, "five deliveries")
    profile = await test_db[COLLECTION].find_one({"_id": user_id})
    assert profile is not None
    assert profile["login_count"] == 3
    latest = max(parse_time(e["data"]["logged_in_at"]) for e in envelopes(logins))
    assert profile["last_login_at"] == latest


def event(event_type: str, user_id: str, at: datetime, **data: Any) -> AuthEvent:
    stamp = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    base = {"user_id": user_id, "email": "ada@example.com", "display_name": "Ada"}
    field = "registered_at" if event_type == "user.registered" else "logged_in_at"
    return AuthEvent(str(uuid.uuid4()), event_type, user_id, at, {**base, field: stamp, **data})


async def test_the_profile_update_itself_is_idempotent(
    real_settings: SettingsFactory, test_db: Database
) -> None:
    # No ProcessedEvents here: as after a crash between applying and recording an event.
    profiles = QuizProfiles(test_db[COLLECTION])
    user_id, start = str(uuid.uuid4()), datetime(2025, 1, 1, tzinfo=UTC)
    first_login = event("user.logged_in", user_id, start + timedelta(seconds=1), method="password")
    registered = event("user.registered", user_id, start)
    # Different topics: the login may arrive first, and everything may arrive twice.
    for handle, item in [
        (profiles.on_logged_in, first_login),
        (profiles.on_registered, registered),
        (profiles.on_logged_in, first_login),
        (profiles.on_registered, registered),
    ]:
        await handle(item)
    profile = await test_db[COLLECTION].find_one({"_id": user_id})
    assert profile is not None
    assert (profile["login_count"], profile["registered_at"]) == (1, start)
    assert profile["last_login_at"] == first_login.time

    later = [
        event("user.logged_in", user_id, start + timedelta(minutes=n), method="password")
        for n in range(1, RECENT_LOGINS + 4)
    ]
    for item in [*later, later[-1], later[-2]]:
        await profiles.on_logged_in(item)
    profile = await test_db[COLLECTION].find_one({"_id": user_id})
    assert profile is not None
    assert profile["login_count"] == 1 + len(later)
    assert profile["last_login_at"] == later[-1].time
    assert profile["recent_login_ids"] == [e.id for e in later[-RECENT_LOGINS:]]
    assert await test_db[COLLECTION].count_documents({}) == 1

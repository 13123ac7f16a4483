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
from tests.support.api import PASSWORD, login, register, unique_email
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


async def test_a_deletion_erases_the_profile_and_late_events_do_not_bring_it_back(
    real_settings: SettingsFactory, test_db: Database
) -> None:
    profiles = QuizProfiles(test_db[COLLECTION])
    user_id, start = str(uuid.uuid4()), datetime(2025, 1, 1, tzinfo=UTC)
    await profiles.on_registered(event("user.registered", user_id, start))
    moved = AuthEvent(
        str(uuid.uuid4()),
        "user.email_changed",
        user_id,
        start,
        {"user_id": user_id, "old_email": "ada@example.com", "new_email": "ada@example.org"},
    )
    await profiles.on_email_changed(moved)
    profile = await test_db[COLLECTION].find_one({"_id": user_id})
    assert profile is not None
    assert profile["email"] == "ada@example.org"

    stamp = "2025-01-02T00:00:00.000Z"
    deleted = AuthEvent(
        str(uuid.uuid4()), "user.deleted", user_id, start, {"user_id": user_id, "deleted_at": stamp}
    )
    for _ in range(2):  # delivered twice: the same tombstone
        await profiles.on_deleted(deleted)
    late_login = event("user.logged_in", user_id, start, method="password")
    await profiles.on_registered(event("user.registered", user_id, start))
    await profiles.on_logged_in(late_login)
    await profiles.on_email_changed(moved)
    stored = await test_db[COLLECTION].find().to_list()
    assert stored == [{"_id": user_id, "deleted_at": parse_time(stamp)}]


async def test_an_account_deleted_through_the_api_leaves_the_consumer_no_profile(
    real_settings: SettingsFactory, servers: Servers, test_db: Database
) -> None:
    settings = real_settings()
    async with running(create_app(settings)) as api:
        email = unique_email()
        user_id = (await register(api, email, display_name="Ada")).json()["id"]
        token = (await login(api, email)).json()["access_token"]
        deleted = await api.request(
            "DELETE",
            "/auth/me",
            json={"password": PASSWORD},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert deleted.status_code == 204
        await outbox_drained(api)
    runner = profiles_runner(servers, settings, test_db)
    deletions = settings.kafka_topic_prefix + "user.deleted"

    async def erased() -> bool:
        profile = await test_db[COLLECTION].find_one({"_id": user_id})
        return profile is not None and set(profile) == {"_id", "deleted_at"}

    async with consuming(runner):
        await eventually(lambda: done_with(runner, deletions) >= 1, 20, "the deletion")
        await eventually(erased, 10, "the profile to be erased")
    users = test_db["users"]
    stored = await users.find_one({"_id": user_id})
    assert stored is not None
    assert (stored["email"], stored["display_name"], stored["password_hash"]) == ("", "", "")
    assert email not in str(await test_db[COLLECTION].find().to_list())


async def test_a_registration_delivered_after_an_email_change_keeps_the_new_address(
    real_settings: SettingsFactory, test_db: Database
) -> None:
    """The two travel on different topics: the change can be handled first, and the
    registration's older address must not replace it, whichever order they come in."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for order in ("change first", "registration first"):
        profiles = QuizProfiles(test_db[COLLECTION])
        user_id = str(uuid.uuid4())
        registered = event("user.registered", user_id, start)
        moved = AuthEvent(
            str(uuid.uuid4()),
            "user.email_changed",
            user_id,
            start + timedelta(minutes=5),
            {"user_id": user_id, "old_email": "ada@example.com", "new_email": "ada@example.org"},
        )
        handled = [(profiles.on_email_changed, moved), (profiles.on_registered, registered)]
        for handle, item in handled if order == "change first" else handled[::-1]:
            await handle(item)
        await profiles.on_registered(registered)  # and a redelivery, for good measure
        profile = await test_db[COLLECTION].find_one({"_id": user_id})
        assert profile is not None
        assert (profile["email"], profile["display_name"]) == ("ada@example.org", "Ada"), order

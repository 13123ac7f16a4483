"""Topics are made in the configured shape, and a creation the broker refuses is an error
that readiness and /metrics report, not a silent success. Run on the single-node
stack, whose one broker cannot hold three replicas: the refusal is real."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest

from auth_api.app import create_app
from auth_api.events.publisher import KafkaPublisher, TopicsRefused
from auth_api.settings import Settings
from consumers.kafka import TopicCreationFailed, ensure_topics
from quizauth_wire.topics import TopicShape
from tests.conftest import drop_test_topics, running
from tests.ops.support import scrape
from tests.support.api import register
from tests.support.polling import eventually
from tests.support.servers import Servers

SettingsFactory = Callable[..., Settings]
THREE_REPLICAS = {"kafka_replication_factor": 3, "kafka_min_insync_replicas": 2}


async def topics_settled(api: httpx.AsyncClient) -> dict[str, object]:
    """/health/ready once the relay's first attempt at the topics is over."""

    async def settled() -> bool:
        return bool((await api.get("/health/ready")).json()["topics"] != "pending")

    await eventually(settled, 15, "the relay to try creating its topics")
    body: dict[str, object] = (await api.get("/health/ready")).json()
    return body


async def test_the_topics_are_reported_ok_once_the_relay_has_made_them(
    api_settings: SettingsFactory,
) -> None:
    async with running(create_app(api_settings())) as api:
        ready = await topics_settled(api)
        metrics = await scrape(api)
    assert ready["topics"] == "ok"
    assert ready["status"] == "ready"
    assert metrics.value("auth_event_topics", auth_event_topics="ok") == 1
    assert metrics.value("auth_event_topics", auth_event_topics="failed") == 0


async def test_a_process_without_a_relay_reports_its_topics_as_disabled(
    make_settings: SettingsFactory,
) -> None:
    async with running(create_app(make_settings(outbox_relay=False))) as api:
        ready = (await api.get("/health/ready")).json()
        metrics = await scrape(api)
    assert (ready["topics"], ready["status"]) == ("disabled", "ready")
    assert metrics.value("auth_event_topics", auth_event_topics="disabled") == 1


@pytest.mark.integration
async def test_topics_the_broker_refuses_make_the_service_unready_and_say_why(
    real_settings: SettingsFactory,
) -> None:
    async with running(create_app(real_settings(**THREE_REPLICAS))) as api:
        assert (await register(api)).status_code == 201, "requests do not wait for Kafka"
        ready = await topics_settled(api)
        response = await api.get("/health/ready")
        metrics = await scrape(api)
    assert response.status_code == 503
    assert ready["status"] == "not ready"
    topics = str(ready["topics"])
    assert topics.startswith("failed: ")
    assert "user.registered: error code 38" in topics  # INVALID_REPLICATION_FACTOR
    assert "replication factor of 3" in topics
    assert metrics.value("auth_event_topics", auth_event_topics="failed") == 1
    assert metrics.value("auth_event_topics", auth_event_topics="ok") == 0
    assert metrics.value("auth_outbox_backlog_events") == 1, "the event waits, undelivered"


@pytest.mark.integration
async def test_the_publisher_names_every_refused_topic(
    servers: Servers, isolation: dict[str, str]
) -> None:
    prefix = isolation["kafka_topic_prefix"]
    publisher = KafkaPublisher(servers.kafka_bootstrap, 5, TopicShape(1, 3, 2))
    with pytest.raises(TopicsRefused) as refused:
        await publisher.ensure_topics([f"{prefix}a", f"{prefix}b"])
    await publisher.close()
    assert f"{prefix}a: error code 38" in str(refused.value)
    assert f"{prefix}b: error code 38" in str(refused.value)


@pytest.mark.integration
async def test_a_consumer_does_not_start_on_topics_the_broker_refuses(
    servers: Servers, isolation: dict[str, str]
) -> None:
    topic = isolation["kafka_topic_prefix"] + "user.registered.dlq"
    with pytest.raises(TopicCreationFailed, match=f"{topic}: error code 38"):
        await ensure_topics(servers.kafka_bootstrap, [topic], 5000, TopicShape(1, 3, 2))


@pytest.mark.integration
async def test_an_existing_topic_is_kept_as_it_is_and_fewer_replicas_are_logged(
    servers: Servers, isolation: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    topic = isolation["kafka_topic_prefix"] + "user.registered"
    made_earlier = KafkaPublisher(servers.kafka_bootstrap, 5, TopicShape(1, 1, 1))
    wants_more = KafkaPublisher(servers.kafka_bootstrap, 5, TopicShape(1, 3, 2))
    try:
        await made_earlier.ensure_topics([topic])
        with caplog.at_level(logging.WARNING, logger="auth_api.events.publisher"):
            await wants_more.ensure_topics([topic])  # exists: nothing to create or refuse
    finally:
        await made_earlier.close()
        await wants_more.close()
        await drop_test_topics(servers, isolation["kafka_topic_prefix"])
    (warning,) = [r.getMessage() for r in caplog.records if topic in r.getMessage()]
    assert "1 replica(s) per partition, fewer than AUTH_KAFKA_REPLICATION_FACTOR=3" in warning

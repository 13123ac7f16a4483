"""The shape of the event topics, and reading Kafka's per-topic answer to a creation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from consumers.settings import ConsumerSettings
from quizauth_wire.topics import TOPIC_ALREADY_EXISTS, TopicShape, refused_topics
from tests.conftest import isolated_settings

INVALID_REPLICATION_FACTOR = 38


def test_the_default_shape_suits_one_broker() -> None:
    shape = TopicShape()
    assert (shape.partitions, shape.replication_factor, shape.min_insync_replicas) == (3, 1, 1)
    assert shape.configs == {"min.insync.replicas": "1"}


def test_a_replicated_shape_asks_for_its_in_sync_minimum() -> None:
    assert TopicShape(6, 3, 2).configs == {"min.insync.replicas": "2"}


def test_more_in_sync_replicas_than_replicas_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match=r"min.insync.replicas \(3\) exceeds the replication"):
        TopicShape(3, replication_factor=2, min_insync_replicas=3)


@pytest.mark.parametrize("counts", [(0, 1, 1), (1, 0, 1), (1, 1, 0)])
def test_every_count_must_be_positive(counts: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        TopicShape(*counts)


def test_a_created_or_existing_topic_is_not_refused() -> None:
    answer = [("a", 0, None), ("b", TOPIC_ALREADY_EXISTS, "Topic 'b' already exists.")]
    assert refused_topics(answer) == {}


def test_each_refused_topic_is_named_with_the_brokers_reason() -> None:
    reason = "The target replication factor of 3 cannot be reached"
    answer = [("a", 0, None), ("b", INVALID_REPLICATION_FACTOR, reason), ("c", 41, "")]
    assert refused_topics(answer) == {
        "b": f"error code 38: {reason}",
        "c": "error code 41",
    }


def test_the_oldest_answer_without_messages_is_read_too() -> None:
    assert refused_topics([("a", 0), ("b", INVALID_REPLICATION_FACTOR)]) == {"b": "error code 38"}


def test_the_service_settings_refuse_an_impossible_shape_at_startup() -> None:
    with pytest.raises(ValidationError, match="exceeds the replication factor"):
        isolated_settings(kafka_replication_factor=1, kafka_min_insync_replicas=2)


def test_the_service_settings_build_the_shape() -> None:
    settings = isolated_settings(
        kafka_topic_partitions=6, kafka_replication_factor=3, kafka_min_insync_replicas=2
    )
    assert settings.topic_shape == TopicShape(6, 3, 2)


def test_the_consumer_settings_build_the_same_shape_from_the_same_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTH_KAFKA_TOPIC_PARTITIONS", "6")
    monkeypatch.setenv("AUTH_KAFKA_REPLICATION_FACTOR", "3")
    monkeypatch.setenv("AUTH_KAFKA_MIN_INSYNC_REPLICAS", "2")
    assert ConsumerSettings().topic_shape == TopicShape(6, 3, 2)
    monkeypatch.setenv("AUTH_KAFKA_MIN_INSYNC_REPLICAS", "4")
    with pytest.raises(ValidationError, match="exceeds the replication factor"):
        ConsumerSettings()

"""Consumer configuration, read from AUTH_* environment variables like the API's."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from quizauth_wire.topics import TopicShape


class ConsumerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AUTH_", extra="ignore")

    kafka_bootstrap: str = Field(
        "127.0.0.1:9092", description="Kafka bootstrap servers (host:port,...)"
    )
    kafka_topic_prefix: str = Field("", description="Prefix of the event topic names")
    kafka_topic_partitions: int = Field(
        3, ge=1, description="Partitions of a topic it creates when missing (as the API's)"
    )
    kafka_replication_factor: int = Field(
        1, ge=1, description="Replicas of a topic it creates when missing (as the API's)"
    )
    kafka_min_insync_replicas: int = Field(
        1, ge=1, description="min.insync.replicas of a topic it creates (as the API's)"
    )
    mongo_url: str = Field("mongodb://127.0.0.1:27017", description="The consumer's MongoDB")
    consumer_mongo_db: str = Field("quiz", description="Database of the consumer's collections")
    consumer_group: str | None = Field(
        None, description="Consumer group id; each command has its own default"
    )
    consumer_max_attempts: int = Field(
        5, ge=1, description="Handler attempts before a message goes to the DLQ"
    )
    consumer_retry_backoff_seconds: float = Field(
        0.5, gt=0, description="First retry delay; doubles per attempt"
    )
    consumer_poll_timeout_seconds: float = Field(
        1.0, gt=0, description="Longest wait for messages; bounds how long shutdown takes"
    )
    consumer_processed_retention_hours: float = Field(
        192, gt=0, description="How long handled event ids are kept; must exceed topic retention"
    )
    consumer_prune_interval_seconds: float = Field(
        3600, gt=0, description="How often handled event ids older than that are removed"
    )
    io_timeout_seconds: float = Field(5.0, gt=0, description="Timeout of MongoDB and Kafka calls")

    @model_validator(mode="after")
    def _valid_topic_shape(self) -> ConsumerSettings:
        self.topic_shape  # noqa: B018 - built for its validation
        return self

    @property
    def topic_shape(self) -> TopicShape:
        """How a missing event or dead-letter topic is created; ValueError if impossible."""
        return TopicShape(
            partitions=self.kafka_topic_partitions,
            replication_factor=self.kafka_replication_factor,
            min_insync_replicas=self.kafka_min_insync_replicas,
        )

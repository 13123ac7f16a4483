"""The shape of the event topics, for whoever creates a missing one: the auth service's
relay (the event topics) and the consumers (the same topics, and their dead-letter
topics). Both read it from the same settings, AUTH_KAFKA_TOPIC_PARTITIONS,
AUTH_KAFKA_REPLICATION_FACTOR and AUTH_KAFKA_MIN_INSYNC_REPLICAS, so a topic is the same
whichever of them made it first. Standard library only, like the rest of the package."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Kafka's error code when the topic exists: another creator won the race, which is fine.
TOPIC_ALREADY_EXISTS = 36


@dataclass(frozen=True)
class TopicShape:
    """Partitions: a user's events are keyed by user id, so they keep their order in one
    partition, and a consumer group spreads over at most this many members. Replication
    factor and min.insync.replicas: with acks=all (what every producer here uses) a
    write is acknowledged once that many replicas have it, so up to
    replication_factor - min_insync_replicas brokers may be lost without losing an
    acknowledged event or stopping writes."""

    partitions: int = 3
    replication_factor: int = 1
    min_insync_replicas: int = 1

    def __post_init__(self) -> None:
        if min(self.partitions, self.replication_factor, self.min_insync_replicas) < 1:
            raise ValueError(f"every count of a topic must be at least 1: {self}")
        if self.min_insync_replicas > self.replication_factor:
            # Kafka would create such a topic, and then refuse every acks=all write to it.
            raise ValueError(
                f"min.insync.replicas ({self.min_insync_replicas}) exceeds the replication"
                f" factor ({self.replication_factor}): no write could ever be acknowledged"
            )

    @property
    def configs(self) -> dict[str, str]:
        """The topic configuration to create it with."""
        return {"min.insync.replicas": str(self.min_insync_replicas)}


def refused_topics(topic_errors: Iterable[Sequence[object]]) -> dict[str, str]:
    """The topics a CreateTopics answer refused, each with the broker's reason. The answer
    has one (topic, error code[, error message]) entry per topic, and does not fail as a
    whole when some are refused, so each entry must be read."""
    refused: dict[str, str] = {}
    for topic, code, *message in topic_errors:
        if code in (0, TOPIC_ALREADY_EXISTS):
            continue
        reason = f"error code {code}"
        if message and message[0]:
            reason += f": {message[0]}"
        refused[str(topic)] = reason
    return refused

"""The servers of the local stack, in start order, for the topology the settings name.
Each component picks its servers on its own: a clustered Redis can join the clustered
Kafka here without touching the rest."""

from __future__ import annotations

from .kafka_server import kafka, kafka_cluster
from .mail_server import mail
from .mongo_server import mongo
from .redis_server import form_redis_cluster, redis, redis_cluster_nodes, redis_cluster_state
from .spec import Server, Settings, component_of


def kafka_servers(s: Settings) -> list[Server]:
    return kafka_cluster(s) if s.clustered else [kafka(s)]


def redis_servers(s: Settings) -> list[Server]:
    return redis_cluster_nodes(s) if s.clustered else [redis(s)]


def all_servers(s: Settings) -> list[Server]:
    return [*redis_servers(s), mongo(s), *kafka_servers(s), mail(s)]


def settle(s: Settings, started: list[Server]) -> None:
    """What a clustered component needs once its servers answer: the Redis Cluster is
    created the first time, and waited on until every slot is served again."""
    if s.clustered and any(component_of(srv.name) == "redis" for srv in started):
        form_redis_cluster(s)


def server_names(s: Settings) -> tuple[str, ...]:
    return tuple(srv.name for srv in all_servers(s))


def cluster_status(s: Settings) -> int:
    """One more status line for the Redis Cluster as a whole; 0 when it serves."""
    if not s.clustered:
        return 0
    state = redis_cluster_state(s)
    print(f"{'redis':<7} cluster {state}")
    return 0 if state == "ok" else 1

"""The servers of the local stack, in start order, for the topology the settings name.
Each component picks its servers on its own: a clustered Redis can join the clustered
Kafka here without touching the rest."""

from __future__ import annotations

from .kafka_server import kafka, kafka_cluster
from .mail_server import mail
from .mongo_server import mongo
from .redis_server import redis
from .spec import Server, Settings


def kafka_servers(s: Settings) -> list[Server]:
    return kafka_cluster(s) if s.clustered else [kafka(s)]


def all_servers(s: Settings) -> list[Server]:
    return [redis(s), mongo(s), *kafka_servers(s), mail(s)]


def server_names(s: Settings) -> tuple[str, ...]:
    return tuple(srv.name for srv in all_servers(s))

"""The servers of the local stack, in start order."""

from __future__ import annotations

from .kafka_server import kafka
from .mail_server import mail
from .mongo_server import mongo
from .redis_server import redis
from .spec import Server, Settings


def all_servers(s: Settings) -> list[Server]:
    return [redis(s), mongo(s), kafka(s), mail(s)]

"""Finds the real MongoDB, Redis, Kafka and mail catcher for a test session, in this order:
AUTH_* settings in the environment; testcontainers when a Docker daemon answers;
the project's native launcher, infra/stack."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from infra.stack_lib.api import REPO, Stack, StackCommandError

__all__ = ["REPO", "Servers", "ServersUnavailableError", "find_servers"]


@dataclass
class Servers:
    mongo_url: str
    redis_url: str
    kafka_bootstrap: str
    origin: str
    cleanup: list[Callable[[], None]] = field(default_factory=list)
    # The mail catcher: its SMTP server (AUTH_SMTP_URL) and its HTTP API, where tests
    # read what was sent.
    smtp_url: str = ""
    mail_api: str = ""
    # What the servers' topology asks of the service, as settings fields: on the
    # clustered topology, redis_mode="cluster" and Kafka's replication.
    topology: dict[str, Any] = field(default_factory=dict)

    @property
    def redis_clustered(self) -> bool:
        return self.topology.get("redis_mode") == "cluster"

    def close(self) -> None:
        for step in reversed(self.cleanup):
            step()


class ServersUnavailableError(RuntimeError):
    pass


TOPOLOGY_VARIABLES = {
    "AUTH_REDIS_MODE": "redis_mode",
    "AUTH_KAFKA_REPLICATION_FACTOR": "kafka_replication_factor",
    "AUTH_KAFKA_MIN_INSYNC_REPLICAS": "kafka_min_insync_replicas",
}


def topology_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """The settings fields that `env` (infra/stack env's output, or the environment)
    gives beyond the servers' addresses."""
    return {field: env[var] for var, field in TOPOLOGY_VARIABLES.items() if env.get(var)}


def from_environment() -> Servers | None:
    mongo, redis = os.environ.get("AUTH_MONGO_URL"), os.environ.get("AUTH_REDIS_URL")
    kafka = os.environ.get("AUTH_KAFKA_BOOTSTRAP")
    smtp, mail_api = os.environ.get("AUTH_SMTP_URL"), os.environ.get("AUTH_STACK_MAIL_API")
    if mongo and redis and kafka and smtp and mail_api:
        return Servers(
            mongo, redis, kafka, "environment", smtp_url=smtp, mail_api=mail_api,
            topology=topology_settings(os.environ),
        )  # fmt: skip
    return None


def docker_answers() -> bool:
    """A Docker daemon answers /_ping. Plain sockets: the docker client leaks one here."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        if host.startswith("unix://"):
            sock = socket.socket(socket.AF_UNIX)
            address: str | tuple[str, int] = host.removeprefix("unix://")
        elif host.startswith("tcp://"):
            name, _, port = host.removeprefix("tcp://").partition(":")
            sock, address = socket.socket(), (name, int(port or 2375))
        else:
            return False
        with sock:
            sock.settimeout(2)
            sock.connect(address)
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            return b" 200 " in sock.recv(1024)
    except OSError:
        return False


def from_testcontainers() -> Servers | None:
    if not docker_answers():
        return None
    from testcontainers.core.container import DockerContainer  # noqa: PLC0415
    from testcontainers.kafka import KafkaContainer  # noqa: PLC0415
    from testcontainers.mongodb import MongoDbContainer  # noqa: PLC0415
    from testcontainers.redis import RedisContainer  # noqa: PLC0415

    mongo = MongoDbContainer("mongo:7").start()
    redis = RedisContainer("redis:7").start()
    kafka = KafkaContainer("apache/kafka:3.9.1").with_kraft().start()
    mail = DockerContainer("axllent/mailpit:v1.33.1").with_exposed_ports(1025, 8025).start()
    redis_url = f"redis://{redis.get_container_host_ip()}:{redis.get_exposed_port(6379)}/0"
    mail_host = mail.get_container_host_ip()
    servers = Servers(
        mongo.get_connection_url(),
        redis_url,
        kafka.get_bootstrap_server(),
        "testcontainers",
        smtp_url=f"smtp://{mail_host}:{mail.get_exposed_port(1025)}",
        mail_api=f"http://{mail_host}:{mail.get_exposed_port(8025)}",
    )
    servers.cleanup += [mongo.stop, redis.stop, kafka.stop, mail.stop]
    return servers


def from_native_stack() -> Servers:
    shared = Stack()
    try:
        started = shared.up()
    except StackCommandError as exc:
        raise ServersUnavailableError(str(exc)) from exc
    env = shared.client_env()
    servers = Servers(
        env["AUTH_MONGO_URL"],
        env["AUTH_REDIS_URL"],
        env["AUTH_KAFKA_BOOTSTRAP"],
        "infra/stack",
        smtp_url=env["AUTH_SMTP_URL"],
        mail_api=env["AUTH_STACK_MAIL_API"],
        topology=topology_settings(env),
    )
    if started:  # stop only what this session started; others may be using the rest
        servers.cleanup.append(lambda: shared.stop(*started))
    return servers


def find_servers() -> Servers:
    return from_environment() or from_testcontainers() or from_native_stack()

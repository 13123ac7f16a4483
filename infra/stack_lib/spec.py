"""What every server of the stack is described by, and the settings they share."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .proc import StackError

# The servers of the single-node topology; a component's name is its server's name.
NAMES = ("redis", "mongo", "kafka", "mail")
# What the service reads to find each component's servers.
CLIENT_VARIABLES = {
    "mongo": "AUTH_MONGO_URL",
    "redis": "AUTH_REDIS_URL",
    "kafka": "AUTH_KAFKA_BOOTSTRAP",
    "mail": "AUTH_SMTP_URL",
}
# Where tests read the mails: the mail catcher's HTTP API (not a setting of the service).
MAIL_API_VARIABLE = "AUTH_STACK_MAIL_API"
MONGO_BACKENDS = ("memory", "h2")  # the first is the default
# "single": one server per component. "cluster": the components that can be clustered
# here run as clusters (Kafka: three KRaft nodes; Redis: a Redis Cluster of 3 masters
# with a replica each), each node a server named <component>-<n>; the others stay single.
TOPOLOGIES = ("single", "cluster")
KAFKA_NODES = 3
# The cluster's Kafka ports, per node: client, then controller. Apart from the
# single-node stack's 9092/9093, so that both can run side by side.
KAFKA_NODE_PORTS = 9192
REDIS_NODES = 6
# The first of the Redis Cluster's six ports: apart from the single server's 6379 and
# from the tests' private cluster (7000-7005).
REDIS_NODE_PORTS = 7100
REDIS_NODE_PORT_VARIABLE = "AUTH_STACK_REDIS_NODE_PORT"
REDIS_BUS_PORT_VARIABLE = "AUTH_STACK_REDIS_NODE_BUS_PORT"
REDIS_BUS_OFFSET = 10000


def component_of(server_name: str) -> str:
    """ "kafka-2" -> "kafka": the part of the stack a server belongs to."""
    return server_name.partition("-")[0]


@dataclass(frozen=True)
class KafkaNode:
    """One node of the clustered Kafka: broker and KRaft controller in one process."""

    node_id: int
    port: int
    controller_port: int

    @property
    def name(self) -> str:
        return f"kafka-{self.node_id}"

    @property
    def ports(self) -> tuple[tuple[str, int], ...]:
        """Client, then controller port, each with the variable that sets it."""
        return (
            (kafka_port_variable(self.node_id), self.port),
            (kafka_port_variable(self.node_id, "CONTROLLER_"), self.controller_port),
        )


def kafka_port_variable(node_id: int, kind: str = "") -> str:
    return f"AUTH_STACK_KAFKA_{node_id}_{kind}PORT"


@dataclass(frozen=True)
class Settings:
    repo: Path
    cache: Path  # everything downloaded or built lives here
    state: Path  # per-server data, logs and pid files
    mongo_port: int
    redis_port: int
    kafka_port: int
    kafka_controller_port: int
    mail_smtp_port: int
    mail_http_port: int
    mongo_heap: str  # the mongo server's maximum Java heap, as -Xmx takes it
    mongo_backend: str  # "memory" or "h2"
    topology: str = "single"  # one of TOPOLOGIES
    kafka_nodes: tuple[KafkaNode, ...] = ()  # the clustered Kafka's, used in "cluster"
    redis_node_ports: tuple[int, ...] = ()  # the Redis Cluster's, used in "cluster"
    redis_bus_ports: tuple[int, ...] = ()  # their cluster bus ports, in the same order

    @property
    def clustered(self) -> bool:
        return self.topology == "cluster"

    def component_env(self) -> dict[str, dict[str, str]]:
        """The service's settings for each component's servers, by variable name."""
        return {
            "mongo": {"AUTH_MONGO_URL": f"mongodb://127.0.0.1:{self.mongo_port}"},
            "redis": self._redis_env(),
            "kafka": self._kafka_env(),
            "mail": {
                "AUTH_SMTP_URL": f"smtp://127.0.0.1:{self.mail_smtp_port}",
                MAIL_API_VARIABLE: self.mail_api_url,
            },
        }

    def _redis_env(self) -> dict[str, str]:
        if not self.clustered:
            return {"AUTH_REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0"}
        # Every node as a seed: the client finds the cluster through any one alive.
        seeds = ",".join(f"redis://127.0.0.1:{port}" for port in self.redis_node_ports)
        return {"AUTH_REDIS_MODE": "cluster", "AUTH_REDIS_URL": seeds}

    def _kafka_env(self) -> dict[str, str]:
        if not self.clustered:
            return {"AUTH_KAFKA_BOOTSTRAP": f"127.0.0.1:{self.kafka_port}"}
        # The topics the service creates get the durability the cluster is there for:
        # a write acknowledged by two of three replicas survives the loss of a broker.
        return {
            "AUTH_KAFKA_BOOTSTRAP": ",".join(f"127.0.0.1:{n.port}" for n in self.kafka_nodes),
            "AUTH_KAFKA_REPLICATION_FACTOR": str(KAFKA_NODES),
            "AUTH_KAFKA_MIN_INSYNC_REPLICAS": str(KAFKA_NODES - 1),
        }

    def client_env(self) -> dict[str, str]:
        """Every component's settings in one mapping."""
        return {var: value for env in self.component_env().values() for var, value in env.items()}

    @property
    def mail_api_url(self) -> str:
        return f"http://127.0.0.1:{self.mail_http_port}"

    def env_line(self) -> str:
        return "export " + " ".join(f"{var}={url}" for var, url in self.client_env().items())


def _port_from_env(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "")
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise StackError(f"{name}={raw!r} is not a TCP port number")
    return int(raw)


def load_settings(repo: Path, environ: Mapping[str, str] = os.environ) -> Settings:
    cache = repo / ".cache"
    kafka_port = _port_from_env(environ, "AUTH_STACK_KAFKA_PORT", 9092)
    return Settings(
        repo=repo,
        cache=cache,
        state=Path(environ.get("AUTH_STACK_DIR") or cache / "stack").resolve(),
        mongo_port=_port_from_env(environ, "AUTH_STACK_MONGO_PORT", 27017),
        redis_port=_port_from_env(environ, "AUTH_STACK_REDIS_PORT", 6379),
        kafka_port=kafka_port,
        kafka_controller_port=_port_from_env(
            environ, "AUTH_STACK_KAFKA_CONTROLLER_PORT", kafka_port + 1
        ),
        mail_smtp_port=_port_from_env(environ, "AUTH_STACK_MAIL_SMTP_PORT", 1025),
        mail_http_port=_port_from_env(environ, "AUTH_STACK_MAIL_HTTP_PORT", 8025),
        mongo_heap=_heap_from_env(environ, "AUTH_STACK_MONGO_HEAP", "512m"),
        mongo_backend=_choice_from_env(environ, "AUTH_STACK_MONGO_BACKEND", MONGO_BACKENDS),
        topology=_choice_from_env(environ, "AUTH_STACK_TOPOLOGY", TOPOLOGIES),
        kafka_nodes=_kafka_nodes_from_env(environ),
        redis_node_ports=_redis_node_ports_from_env(environ),
        redis_bus_ports=_redis_bus_ports_from_env(environ),
    )


def _redis_node_ports_from_env(environ: Mapping[str, str]) -> tuple[int, ...]:
    """AUTH_STACK_REDIS_NODE_PORT (7100) and the five ports after it."""
    return _six_ports(environ, REDIS_NODE_PORT_VARIABLE, REDIS_NODE_PORTS)


def _redis_bus_ports_from_env(environ: Mapping[str, str]) -> tuple[int, ...]:
    """AUTH_STACK_REDIS_NODE_BUS_PORT and the five ports after it; by default each
    node's port + 10000, as Redis chooses. Set it when that lands in the range the
    kernel hands out to outgoing connections (32768 and up), where one may hold it."""
    nodes = _redis_node_ports_from_env(environ)
    return _six_ports(environ, REDIS_BUS_PORT_VARIABLE, nodes[0] + REDIS_BUS_OFFSET)


def _six_ports(environ: Mapping[str, str], name: str, default: int) -> tuple[int, ...]:
    first = _port_from_env(environ, name, default)
    if first + REDIS_NODES - 1 > 65535:
        raise StackError(f"{name}='{first}' is too high: six ports from it must be TCP ports")
    return tuple(range(first, first + REDIS_NODES))


def _kafka_nodes_from_env(environ: Mapping[str, str]) -> tuple[KafkaNode, ...]:
    """AUTH_STACK_KAFKA_<n>_PORT, and AUTH_STACK_KAFKA_<n>_CONTROLLER_PORT (default: the
    next port), for n = 1..3; by default 9192/9193, 9194/9195 and 9196/9197."""
    nodes = []
    for node_id in range(1, KAFKA_NODES + 1):
        default = KAFKA_NODE_PORTS + 2 * (node_id - 1)
        port = _port_from_env(environ, kafka_port_variable(node_id), default)
        controller = _port_from_env(environ, kafka_port_variable(node_id, "CONTROLLER_"), port + 1)
        nodes.append(KafkaNode(node_id, port, controller))
    return tuple(nodes)


def _heap_from_env(environ: Mapping[str, str], name: str, default: str) -> str:
    raw = environ.get(name) or default
    if not re.fullmatch(r"[1-9][0-9]*[mMgG]", raw):
        raise StackError(f"{name}={raw!r} is not a heap size such as 512m or 2g")
    return raw


def _choice_from_env(environ: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    raw = environ.get(name) or choices[0]
    if raw not in choices:
        raise StackError(f"{name}={raw!r} is not one of {', '.join(choices)}")
    return raw


@dataclass(frozen=True)
class Server:
    name: str  # CLI name, also the state sub-directory
    label: str
    ports: tuple[tuple[str, int], ...]  # (env var, port); the first one is the client port
    marker: str  # substring of the command line that identifies the binary
    ready_timeout: float
    workdir: Path
    preflight: Callable[[], list[str]]  # problems that would stop provisioning/running
    provision: Callable[[], None]  # download or build what is missing
    command: Callable[[], list[str]]  # write config, return the server argv
    probe: Callable[[int], bool]

    @property
    def port(self) -> int:
        return self.ports[0][1]

    @property
    def pidfile(self) -> Path:
        return self.workdir / f"{self.name}.pid"

    @property
    def logfile(self) -> Path:
        return self.workdir / f"{self.name}.log"


def missing_tool(tool: str, purpose: str) -> list[str]:
    return [] if shutil.which(tool) else [f"'{tool}' is not on PATH (needed {purpose})"]

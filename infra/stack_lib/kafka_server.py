"""Kafka in KRaft mode, run from Maven's jars: one node that is broker and controller
(the single-node topology), or three such nodes in one cluster (the clustered one)."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Mapping
from pathlib import Path

from . import probes
from .maven import JarSet
from .proc import log, run_tool
from .spec import KAFKA_NODES, KafkaNode, Server, Settings, missing_tool

BROKER_JVM = ["-Xms256m", "-Xmx512m"]
# Three JVMs starting at once on a small machine spend most of their start compiling;
# with the quick compiler only, a cluster is up in about 60% of the time. Its code is
# slower at full load, which a test cluster never sees; the single node keeps both.
CLUSTER_NODE_JVM = [*BROKER_JVM, "-XX:TieredStopAtLevel=1"]
# The storage tool runs for a second or two: the quick compiler alone and the simplest
# collector halve its time, which each node's first start waits for.
TOOL_JVM = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx256m"]
# Shared by every node's configuration.
COMMON_PROPERTIES = {
    "process.roles": "broker,controller",
    "controller.listener.names": "CONTROLLER",
    "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
    "inter.broker.listener.name": "PLAINTEXT",
    # 50 offset partitions (the default) only slow down startup on a dev broker.
    "offsets.topic.num.partitions": "1",
    "group.initial.rebalance.delay.ms": "0",  # tests should not wait 3 s per group
    "log.cleaner.dedupe.buffer.size": "16777216",  # default 128 MiB is wasted here
    "num.partitions": "1",
    "auto.create.topics.enable": "true",
}
# A single broker cannot meet the default replication of 3 for internal topics;
# consumer groups and transactions would never become available.
SINGLE_NODE_PROPERTIES = {
    "offsets.topic.replication.factor": "1",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
}
# Three replicas of everything, two of which must have a write before it is
# acknowledged (acks=all): one node may be lost without losing an acknowledged write,
# and the cluster keeps accepting writes while it is away.
CLUSTER_PROPERTIES = {
    "offsets.topic.replication.factor": str(KAFKA_NODES),
    "transaction.state.log.replication.factor": str(KAFKA_NODES),
    "transaction.state.log.min.isr": str(KAFKA_NODES - 1),
    "default.replication.factor": str(KAFKA_NODES),
    "min.insync.replicas": str(KAFKA_NODES - 1),
    "unclean.leader.election.enable": "false",  # the default, stated: no lossy leader
}


def _random_cluster_id() -> str:
    return _as_cluster_id(uuid.uuid4().bytes)


def _as_cluster_id(raw: bytes) -> str:
    # KRaft wants 16 bytes as unpadded URL-safe base64; a leading '-' would be parsed as
    # a command-line option by the storage tool, so the first byte is kept below 0xf8.
    first = raw[0] & 0x7F
    return base64.urlsafe_b64encode(bytes([first]) + raw[1:16]).decode().rstrip("=")


def shared_cluster_id(s: Settings) -> str:
    """The same for every node of one state directory, with nothing to store: each node
    formats its storage on its own and all must name the same cluster."""
    return _as_cluster_id(hashlib.sha256(f"kafka-cluster:{s.state}".encode()).digest())


def node_properties(
    node: KafkaNode, voters: tuple[KafkaNode, ...], data: Path, extra: Mapping[str, str]
) -> str:
    props = {
        **COMMON_PROPERTIES,
        "node.id": str(node.node_id),
        "controller.quorum.voters": ",".join(
            f"{v.node_id}@127.0.0.1:{v.controller_port}" for v in voters
        ),
        "listeners": (
            f"PLAINTEXT://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:{node.controller_port}"
        ),
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.port}",
        "log.dirs": str(data),
        **extra,
    }
    return "".join(f"{key}={value}\n" for key, value in props.items())


def _kafka_node(
    s: Settings,
    name: str,
    ports: tuple[tuple[str, int], ...],
    node: KafkaNode,
    *,
    voters: tuple[KafkaNode, ...],
    extra: Mapping[str, str],
    cluster_id: str | None,
    jvm: list[str],
) -> Server:
    """A KRaft node on `ports` (client, controller: each with its AUTH_STACK_* variable);
    `cluster_id` None means a fresh random id at the first format."""
    workdir = s.state / name
    data = workdir / "data"
    props = workdir / "server.properties"
    log_config = s.repo / "infra" / "kafka" / "log4j2.properties"
    jars = JarSet.of(s, "kafka")
    label = "Kafka" if len(voters) == 1 else f"Kafka node {node.node_id} of {len(voters)}"

    def preflight() -> list[str]:
        return missing_tool("java", "to run Kafka") + jars.preflight()

    def java(options: list[str], main_class: str, *args: str) -> list[str]:
        return [
            "java", *options, f"-Dlog4j2.configurationFile={log_config}",
            "-cp", jars.classpath, main_class, *args,
        ]  # fmt: skip

    def command() -> list[str]:
        props.write_text(node_properties(node, voters, data, extra))
        if not (data / "meta.properties").exists():  # format once; keeps topics across restarts
            log(f"{name}: formatting storage...")
            cid = cluster_id or _random_cluster_id()
            run_tool(
                java(TOOL_JVM, "kafka.tools.StorageTool", "format", "-t", cid, "-c", str(props))
            )
        return java(jvm, "kafka.Kafka", str(props))

    return Server(
        name=name,
        label=label,
        ports=ports,
        marker="kafka.Kafka",
        ready_timeout=90,
        workdir=workdir,
        preflight=preflight,
        provision=jars.provision,
        command=command,
        probe=probes.kafka_broker_listed,
    )


def kafka(s: Settings) -> Server:
    """The single-node topology's Kafka, on AUTH_STACK_KAFKA_PORT."""
    node = KafkaNode(1, s.kafka_port, s.kafka_controller_port)
    ports = (
        ("AUTH_STACK_KAFKA_PORT", node.port),
        ("AUTH_STACK_KAFKA_CONTROLLER_PORT", node.controller_port),
    )
    return _kafka_node(
        s,
        "kafka",
        ports,
        node,
        voters=(node,),
        extra=SINGLE_NODE_PROPERTIES,
        cluster_id=None,
        jvm=BROKER_JVM,
    )


def kafka_cluster(s: Settings) -> list[Server]:
    """The clustered topology's three nodes, kafka-1 to kafka-3, each a voter of the
    KRaft quorum: it elects a controller while two of the three are up."""
    cluster_id = shared_cluster_id(s)
    return [
        _kafka_node(
            s,
            node.name,
            node.ports,
            node,
            voters=s.kafka_nodes,
            extra=CLUSTER_PROPERTIES,
            cluster_id=cluster_id,
            jvm=CLUSTER_NODE_JVM,
        )
        for node in s.kafka_nodes
    ]

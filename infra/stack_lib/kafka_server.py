"""Kafka in KRaft mode (one node, broker and controller), run from Maven's jars."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

from . import probes
from .maven import JarSet
from .proc import log, run_tool
from .spec import Server, Settings, missing_tool


def _cluster_id() -> str:
    # KRaft wants 16 random bytes as unpadded URL-safe base64; a leading '-'
    # would be parsed as a command-line option by the storage tool.
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def _kafka_properties(s: Settings, data: Path) -> str:
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{s.kafka_controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{s.kafka_port},CONTROLLER://127.0.0.1:{s.kafka_controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{s.kafka_port}",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(data),
        # A single broker cannot meet the default replication of 3 for internal
        # topics; consumer groups and transactions would never become available.
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        # 50 offset partitions (the default) only slow down startup on a dev broker.
        "offsets.topic.num.partitions": "1",
        "group.initial.rebalance.delay.ms": "0",  # tests should not wait 3 s per group
        "log.cleaner.dedupe.buffer.size": "16777216",  # default 128 MiB is wasted here
        "num.partitions": "1",
        "auto.create.topics.enable": "true",
    }
    return "".join(f"{key}={value}\n" for key, value in props.items())


def kafka(s: Settings) -> Server:
    workdir = s.state / "kafka"
    data = workdir / "data"
    props = workdir / "server.properties"
    log_config = s.repo / "infra" / "kafka" / "log4j2.properties"
    jars = JarSet.of(s, "kafka")

    def preflight() -> list[str]:
        return missing_tool("java", "to run Kafka") + jars.preflight()

    def java(main_class: str, *args: str) -> list[str]:
        return [
            "java", "-Xms256m", "-Xmx512m", f"-Dlog4j2.configurationFile={log_config}",
            "-cp", jars.classpath, main_class, *args,
        ]  # fmt: skip

    def command() -> list[str]:
        props.write_text(_kafka_properties(s, data))
        if not (data / "meta.properties").exists():  # format once; keeps topics across restarts
            log("kafka: formatting storage...")
            cluster_id = _cluster_id()
            run_tool(java("kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(props)))
        return java("kafka.Kafka", str(props))

    return Server(
        name="kafka",
        label="Kafka",
        ports=(
            ("AUTH_STACK_KAFKA_PORT", s.kafka_port),
            ("AUTH_STACK_KAFKA_CONTROLLER_PORT", s.kafka_controller_port),
        ),
        marker="kafka.Kafka",
        ready_timeout=90,
        workdir=workdir,
        preflight=preflight,
        provision=jars.provision,
        command=command,
        probe=probes.kafka_broker_listed,
    )

"""infra.stack_lib.api without starting a server: ports, URLs, and stopping processes."""

from __future__ import annotations

import base64
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from infra.stack_lib.api import (
    PrivateCluster,
    PrivateServers,
    Stack,
    free_port,
    parse_env_line,
    stop_process,
    wait_until_answering,
)
from infra.stack_lib.kafka_server import CLUSTER_PROPERTIES, node_properties, shared_cluster_id
from infra.stack_lib.proc import StackError
from infra.stack_lib.spec import NAMES


def python(code: str) -> subprocess.Popen[bytes]:
    """`code` in a new interpreter, which prints a line once it is ready."""
    ready = "import signal, sys, time\n" + code + "\nprint('ready', flush=True)\n"
    return subprocess.Popen(  # noqa: S603 - this interpreter, fixed code
        [sys.executable, "-c", ready + "time.sleep(60)\n"], stdout=subprocess.PIPE
    )


def test_free_port_avoids_the_taken_ports_and_records_its_own() -> None:
    taken = {free_port() for _ in range(3)}
    before = set(taken)
    port = free_port(taken)
    assert port not in before
    assert taken == before | {port}


def test_private_servers_get_distinct_ports_and_matching_urls(tmp_path: Path) -> None:
    servers = PrivateServers(NAMES, tmp_path)
    settings = {name: servers[name].stack.settings for name in NAMES}
    ports = [
        settings["redis"].redis_port,
        settings["mongo"].mongo_port,
        settings["kafka"].kafka_port,
        settings["kafka"].kafka_controller_port,
        settings["mail"].mail_smtp_port,
        settings["mail"].mail_http_port,
    ]
    assert len(set(ports)) == 6
    assert servers.client_env() == {
        "AUTH_REDIS_URL": f"redis://127.0.0.1:{ports[0]}/0",
        "AUTH_MONGO_URL": f"mongodb://127.0.0.1:{ports[1]}",
        "AUTH_KAFKA_BOOTSTRAP": f"127.0.0.1:{ports[2]}",
        "AUTH_SMTP_URL": f"smtp://127.0.0.1:{ports[4]}",
        "AUTH_STACK_MAIL_API": f"http://127.0.0.1:{ports[5]}",
    }
    assert {servers[name].port for name in NAMES} == {*ports[:3], ports[4]}


def test_the_env_line_reads_back_as_the_client_settings(tmp_path: Path) -> None:
    stack = Stack({"AUTH_STACK_DIR": str(tmp_path), "AUTH_STACK_MONGO_PORT": "27999"})
    assert parse_env_line(stack.settings.env_line()) == stack.client_env()
    assert stack.client_env(["mongo"]) == {"AUTH_MONGO_URL": "mongodb://127.0.0.1:27999"}


@pytest.mark.parametrize(
    ("variable", "value", "complaint"),
    [
        ("AUTH_STACK_MONGO_HEAP", "lots", "not a heap size"),
        ("AUTH_STACK_MONGO_HEAP", "0m", "not a heap size"),
        ("AUTH_STACK_MONGO_BACKEND", "sqlite", "not one of memory, h2"),
        ("AUTH_STACK_REDIS_PORT", "70000", "not a TCP port"),
        ("AUTH_STACK_REDIS_NODE_PORT", "seven", "not a TCP port"),
        ("AUTH_STACK_REDIS_NODE_PORT", "65533", "too high"),
        ("AUTH_STACK_REDIS_NODE_BUS_PORT", "65533", "too high"),
    ],
)
def test_a_bad_setting_is_named_in_the_error(variable: str, value: str, complaint: str) -> None:
    with pytest.raises(StackError, match=f"{variable}='{value}' is {complaint}"):
        _ = Stack({variable: value}).settings


def test_the_mongo_defaults_are_a_bounded_heap_in_memory() -> None:
    settings = Stack({"AUTH_STACK_MONGO_HEAP": "", "AUTH_STACK_MONGO_BACKEND": ""}).settings
    assert (settings.mongo_heap, settings.mongo_backend) == ("512m", "memory")


def test_nothing_runs_in_a_fresh_state_directory(tmp_path: Path) -> None:
    stack = Stack({"AUTH_STACK_DIR": str(tmp_path), "AUTH_STACK_TOPOLOGY": "single"})
    assert stack.stopped() == list(NAMES)
    assert stack.pid("mongo") is None


def test_waiting_ends_when_the_process_exits() -> None:
    with python("sys.exit(3)") as process:
        url = f"http://127.0.0.1:{free_port()}/health/live"
        assert not wait_until_answering(url, process, timeout=30)
    assert process.returncode == 3


@pytest.mark.parametrize(
    ("code", "grace", "ending"),
    [
        pytest.param("", 30.0, -signal.SIGINT, id="stops-on-sigint"),
        pytest.param(
            "signal.signal(signal.SIGINT, signal.SIG_IGN)",
            0.5,
            -signal.SIGKILL,
            id="ignores-sigint-so-killed-after-the-grace",
        ),
    ],
)
def test_stop_process(code: str, grace: float, ending: int) -> None:
    with python(code) as process:
        assert process.stdout is not None
        assert process.stdout.readline() == b"ready\n"
        stop_process(process, grace=grace)
    assert process.returncode == ending


KAFKA_NODES = ["kafka-1", "kafka-2", "kafka-3"]
REDIS_NODES = [f"redis-{n}" for n in range(1, 7)]
# The clustered topology on its default ports, whatever this process's environment says.
CLUSTER = {
    "AUTH_STACK_TOPOLOGY": "cluster",
    "AUTH_STACK_REDIS_NODE_PORT": "",
    "AUTH_STACK_REDIS_NODE_BUS_PORT": "",
    **{f"AUTH_STACK_KAFKA_{n}_{kind}PORT": "" for n in (1, 2, 3) for kind in ("", "CONTROLLER_")},
}


def test_the_default_topology_is_one_server_each(tmp_path: Path) -> None:
    stack = Stack({"AUTH_STACK_DIR": str(tmp_path), "AUTH_STACK_TOPOLOGY": ""})
    assert stack.names == NAMES


def test_the_cluster_topology_runs_kafka_as_three_nodes_beside_the_rest(tmp_path: Path) -> None:
    stack = Stack({**CLUSTER, "AUTH_STACK_DIR": str(tmp_path)})
    assert stack.names == (*REDIS_NODES, "mongo", *KAFKA_NODES, "mail")
    assert stack.stopped() == list(stack.names)
    env = stack.client_env()
    assert env["AUTH_KAFKA_BOOTSTRAP"] == "127.0.0.1:9192,127.0.0.1:9194,127.0.0.1:9196"
    assert (env["AUTH_KAFKA_REPLICATION_FACTOR"], env["AUTH_KAFKA_MIN_INSYNC_REPLICAS"]) == (
        "3",
        "2",
    )
    assert parse_env_line(stack.settings.env_line()) == env
    # Any node names the whole cluster; the single-node ports are not among them.
    assert stack.client_env(["kafka-2"]) == {
        key: value for key, value in env.items() if key.startswith("AUTH_KAFKA_")
    }
    assert {9092, 9093}.isdisjoint(port for n in KAFKA_NODES for _, port in stack.server(n).ports)


def test_the_cluster_topology_runs_redis_as_a_cluster_of_six_nodes(tmp_path: Path) -> None:
    stack = Stack({**CLUSTER, "AUTH_STACK_DIR": str(tmp_path)})
    ports = [stack.server(name).port for name in REDIS_NODES]
    assert ports == list(range(7100, 7106))
    seeds = ",".join(f"redis://127.0.0.1:{port}" for port in ports)
    expected = {"AUTH_REDIS_MODE": "cluster", "AUTH_REDIS_URL": seeds}
    assert stack.client_env(["redis-4"]) == expected
    assert parse_env_line(stack.settings.env_line()).items() >= expected.items()
    bus = [dict(stack.server(name).ports)["AUTH_STACK_REDIS_NODE_BUS_PORT"] for name in REDIS_NODES]
    assert bus == list(range(17100, 17106))
    moved = Stack(
        {
            **CLUSTER,
            "AUTH_STACK_DIR": str(tmp_path),
            "AUTH_STACK_REDIS_NODE_PORT": "26320",
            "AUTH_STACK_REDIS_NODE_BUS_PORT": "26330",
        }
    )
    assert [moved.server(name).port for name in REDIS_NODES] == list(range(26320, 26326))
    assert moved.server("redis-2").ports == (
        ("AUTH_STACK_REDIS_NODE_PORT", 26321),
        ("AUTH_STACK_REDIS_NODE_BUS_PORT", 26331),
    )


def test_each_node_port_is_set_by_its_own_variable(tmp_path: Path) -> None:
    stack = Stack(
        {
            **CLUSTER,
            "AUTH_STACK_DIR": str(tmp_path),
            "AUTH_STACK_KAFKA_1_PORT": "10600",
            "AUTH_STACK_KAFKA_2_PORT": "10610",
            "AUTH_STACK_KAFKA_2_CONTROLLER_PORT": "10620",
        }
    )
    ports = {name: dict(stack.server(name).ports) for name in KAFKA_NODES}
    assert ports == {
        "kafka-1": {"AUTH_STACK_KAFKA_1_PORT": 10600, "AUTH_STACK_KAFKA_1_CONTROLLER_PORT": 10601},
        "kafka-2": {"AUTH_STACK_KAFKA_2_PORT": 10610, "AUTH_STACK_KAFKA_2_CONTROLLER_PORT": 10620},
        "kafka-3": {"AUTH_STACK_KAFKA_3_PORT": 9196, "AUTH_STACK_KAFKA_3_CONTROLLER_PORT": 9197},
    }


def test_an_unknown_topology_is_named_in_the_error() -> None:
    with pytest.raises(
        StackError, match="AUTH_STACK_TOPOLOGY='ring' is not one of single, cluster"
    ):
        _ = Stack({"AUTH_STACK_TOPOLOGY": "ring"}).settings


def test_a_private_cluster_gets_distinct_free_ports_for_every_node(tmp_path: Path) -> None:
    cluster = PrivateCluster("kafka", tmp_path)
    assert cluster.names == KAFKA_NODES
    ports = [port for name in KAFKA_NODES for _, port in cluster.stack.server(name).ports]
    assert len(set(ports)) == 6
    assert {9192, 9194, 9196}.isdisjoint(ports)
    bootstrap = ",".join(f"127.0.0.1:{cluster.port(name)}" for name in KAFKA_NODES)
    assert cluster.client_env()["AUTH_KAFKA_BOOTSTRAP"] == bootstrap
    assert cluster.pid("kafka-1") is None


def test_the_nodes_form_one_cluster_of_three_replicated_voters(tmp_path: Path) -> None:
    settings = Stack({**CLUSTER, "AUTH_STACK_DIR": str(tmp_path)}).settings
    voters = "1@127.0.0.1:9193,2@127.0.0.1:9195,3@127.0.0.1:9197"
    for node in settings.kafka_nodes:
        text = node_properties(node, settings.kafka_nodes, tmp_path, CLUSTER_PROPERTIES)
        props = dict(line.split("=", 1) for line in text.splitlines())
        assert props["node.id"] == str(node.node_id)
        assert props["controller.quorum.voters"] == voters
        assert props["advertised.listeners"] == f"PLAINTEXT://127.0.0.1:{node.port}"
        assert props["offsets.topic.replication.factor"] == "3"
        assert props["transaction.state.log.replication.factor"] == "3"
        assert props["transaction.state.log.min.isr"] == "2"
        assert props["default.replication.factor"] == "3"
        assert props["min.insync.replicas"] == "2"


def test_every_node_of_a_state_directory_formats_with_the_same_cluster_id(
    tmp_path: Path,
) -> None:
    here = Stack({**CLUSTER, "AUTH_STACK_DIR": str(tmp_path / "a")}).settings
    there = Stack({**CLUSTER, "AUTH_STACK_DIR": str(tmp_path / "b")}).settings
    cluster_id = shared_cluster_id(here)
    assert cluster_id == shared_cluster_id(here)
    assert cluster_id != shared_cluster_id(there)
    # KRaft's form: 16 bytes, unpadded URL-safe base64; no leading '-' (an option).
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16
    assert not cluster_id.startswith("-")

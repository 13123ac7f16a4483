"""infra.stack_lib.api without starting a server: ports, URLs, and stopping processes."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from infra.stack_lib.api import (
    PrivateServers,
    Stack,
    free_port,
    parse_env_line,
    stop_process,
    wait_until_answering,
)
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
    ],
)
def test_a_bad_setting_is_named_in_the_error(variable: str, value: str, complaint: str) -> None:
    with pytest.raises(StackError, match=f"{variable}='{value}' is {complaint}"):
        _ = Stack({variable: value}).settings


def test_the_mongo_defaults_are_a_bounded_heap_in_memory() -> None:
    settings = Stack({"AUTH_STACK_MONGO_HEAP": "", "AUTH_STACK_MONGO_BACKEND": ""}).settings
    assert (settings.mongo_heap, settings.mongo_backend) == ("512m", "memory")


def test_nothing_runs_in_a_fresh_state_directory(tmp_path: Path) -> None:
    stack = Stack({"AUTH_STACK_DIR": str(tmp_path)})
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

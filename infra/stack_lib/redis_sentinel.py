"""A native Redis Sentinel setup for tests: a master, one replica and three sentinels,
five Debian redis-server processes on 127.0.0.1 in a state directory of their own
(`redis-server <conf> --sentinel` runs a sentinel). Every process is this object's
child and is stopped by its pid; nothing else is signalled.

The sentinels call the master `quizauth`, see it down after 1 s without an answer
(down-after-milliseconds) and fail over when 2 of the 3 agree (the quorum)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from .redis_cluster import redis_cli

MASTER_NAME = "quizauth"
SENTINELS = 3
QUORUM = 2
DOWN_AFTER_MS = 1000
READY_TIMEOUT = 60.0
# Defaults of the ports, apart from the single Redis (6379) and the cluster (7000..7005).
SENTINEL_PORT_VARIABLE = "AUTH_STACK_REDIS_SENTINEL_PORT"
SENTINEL_DATA_PORT_VARIABLE = "AUTH_STACK_REDIS_SENTINEL_DATA_PORT"
DEFAULT_SENTINEL_PORT = 26379
DEFAULT_DATA_PORT = 6390


class RedisSentinelError(RuntimeError):
    """The servers did not start, or the sentinels did not settle, in time."""


def sentinel_ports_from_env(environ: Mapping[str, str] = os.environ) -> tuple[list[int], list[int]]:
    """(master and replica ports, sentinel ports): AUTH_STACK_REDIS_SENTINEL_DATA_PORT
    (6390) and the port after it, AUTH_STACK_REDIS_SENTINEL_PORT (26379) and the two after."""
    data = _port(environ, SENTINEL_DATA_PORT_VARIABLE, DEFAULT_DATA_PORT)
    first_sentinel = _port(environ, SENTINEL_PORT_VARIABLE, DEFAULT_SENTINEL_PORT)
    return [data, data + 1], [first_sentinel + n for n in range(SENTINELS)]


def _port(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "")
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65534:
        raise RedisSentinelError(f"{name}={raw!r} is not a TCP port number")
    return int(raw)


class NativeRedisSentinel:
    """Start with start(), stop with stop(). `sentinels` is the service's
    AUTH_REDIS_SENTINELS and MASTER_NAME its AUTH_REDIS_SENTINEL_MASTER."""

    def __init__(
        self, state_dir: Path, data_ports: Sequence[int], sentinel_ports: Sequence[int]
    ) -> None:
        if len(data_ports) != 2 or len(sentinel_ports) != SENTINELS:
            raise ValueError(f"a master, a replica and {SENTINELS} sentinels need their ports")
        self.state_dir = state_dir
        self.data_ports = list(data_ports)
        self.sentinel_ports = list(sentinel_ports)
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def sentinels(self) -> str:
        return ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)

    def start(self) -> None:
        master, replica = self.data_ports
        self._start_data_node(master)
        self._start_data_node(replica, replica_of=master)
        for port in self.sentinel_ports:
            self._start_sentinel(port, master)
        try:
            self.wait_until_settled()
        except RedisSentinelError:
            self.stop()
            raise

    def master_port(self) -> int | None:
        """The master's port as the first sentinel that answers says it, or None."""
        for port in self.sentinel_ports:
            if not self._alive(port):
                continue
            reply = redis_cli(port, "sentinel", "get-master-addr-by-name", MASTER_NAME).split()
            if len(reply) == 2 and reply[1].isdigit():
                return int(reply[1])
        return None

    def replica_port(self) -> int:
        master = self.master_port()
        return next(port for port in self.data_ports if port != master)

    def is_settled(self) -> bool:
        """The sentinels agree on a live master, each knows the other two and a live
        replica, and that replica has synced: a failover can happen now."""
        master = self.master_port()
        if master is None or not self._alive(master):
            return False
        replica = next(port for port in self.data_ports if port != master)
        if not self._alive(replica):
            return False
        if "master_link_status:up" not in redis_cli(replica, "info", "replication"):
            return False
        return all(self._sentinel_sees(port, master) for port in self.sentinel_ports)

    def _sentinel_sees(self, port: int, master: int) -> bool:
        fields = redis_cli(port, "sentinel", "master", MASTER_NAME).split()
        state = dict(zip(fields[::2], fields[1::2], strict=False))
        return (
            state.get("port") == str(master)
            and state.get("flags") == "master"
            and state.get("num-other-sentinels") == str(SENTINELS - 1)
            and state.get("num-slaves") == "1"
        )

    def wait_until_settled(self, timeout: float = READY_TIMEOUT) -> float:
        """Seconds until is_settled()."""
        started = time.monotonic()
        self._wait(self.is_settled, timeout)
        return time.monotonic() - started

    def wait_for_new_master(self, old: int, timeout: float = 30.0) -> float:
        """Seconds until the sentinels name a master other than `old`."""
        started = time.monotonic()
        self._wait(lambda: self.master_port() not in (None, old), timeout)
        return time.monotonic() - started

    def kill(self, port: int) -> None:
        """SIGKILL one server of this setup, by its pid."""
        process = self.processes[port]
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def pause(self, *ports: int) -> None:
        """SIGSTOP servers of this setup, by pid: they hold their connections open and
        answer nothing, as a hung host would."""
        for port in ports:
            os.kill(self.processes[port].pid, signal.SIGSTOP)

    def resume(self, *ports: int) -> None:
        for port in ports:
            os.kill(self.processes[port].pid, signal.SIGCONT)

    def restart(self, port: int) -> None:
        """Start a killed data node again, empty; the sentinels make it a replica of
        the master they promoted meanwhile. Returns once all is settled again."""
        master = self.master_port()
        self._start_data_node(port, replica_of=master if master != port else None)
        self.wait_until_settled()

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.kill(process.pid, signal.SIGCONT)  # a paused server cannot exit
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self.processes.clear()

    def _alive(self, port: int) -> bool:
        process = self.processes.get(port)
        return process is not None and process.poll() is None

    def _start_data_node(self, port: int, replica_of: int | None = None) -> None:
        directory = self._directory(f"redis-{port}")
        command = [
            "redis-server", "--port", str(port), "--bind", "127.0.0.1",
            "--dir", str(directory), "--save", "", "--appendonly", "no",
            "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
            "--daemonize", "no",
        ]  # fmt: skip
        if replica_of is not None:
            command += ["--replicaof", "127.0.0.1", str(replica_of)]
        self._spawn(port, command, directory)

    def _start_sentinel(self, port: int, master: int) -> None:
        directory = self._directory(f"sentinel-{port}")
        config = directory / "sentinel.conf"
        # A sentinel rewrites its configuration file as it learns: it must be its own.
        config.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {directory}\n"
            f"sentinel monitor {MASTER_NAME} 127.0.0.1 {master} {QUORUM}\n"
            f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {MASTER_NAME} 10000\n"
            f"sentinel parallel-syncs {MASTER_NAME} 1\n"
        )
        self._spawn(port, ["redis-server", str(config), "--sentinel"], directory)

    def _directory(self, name: str) -> Path:
        directory = self.state_dir / name
        directory.mkdir(parents=True, exist_ok=True)
        return directory

    def _spawn(self, port: int, command: list[str], directory: Path) -> None:
        with (directory / "redis.log").open("ab") as log:
            self.processes[port] = subprocess.Popen(  # noqa: S603 - fixed argument list
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    @staticmethod
    def _wait(condition: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.1)
        raise RedisSentinelError(f"Redis Sentinel not settled after {timeout:.0f} s")

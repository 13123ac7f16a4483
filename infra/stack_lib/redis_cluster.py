"""A native Redis Cluster for tests: 3 masters with 1 replica each, six Debian
redis-server processes on 127.0.0.1 in a state directory of their own, joined with
`redis-cli --cluster create`. Every process is this object's child and is stopped by
its pid; nothing else is signalled."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

NODES = 6
READY_TIMEOUT = 60.0


class RedisClusterError(RuntimeError):
    """The cluster did not form or did not settle in time."""


def redis_cli(port: int, *args: str, timeout: float = 10.0) -> str:
    result = subprocess.run(  # noqa: S603 - Debian's redis-cli on our own port
        ["redis-cli", "-p", str(port), *args],  # noqa: S607
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    return result.stdout


def node_command(port: int, directory: Path, bus_port: int | None = None) -> list[str]:
    """A cluster node on `port`, its nodes.conf in `directory`; nothing saved but that.
    A master unanswered for 1 s is failed over, whatever its replica's lag. Its cluster
    bus listens on `bus_port`, by default (None) Redis's own choice, port + 10000."""
    bus = [] if bus_port is None else ["--cluster-port", str(bus_port)]
    return [
        "redis-server", "--port", str(port), "--bind", "127.0.0.1", *bus,
        "--cluster-enabled", "yes", "--cluster-config-file", str(directory / "nodes.conf"),
        "--cluster-node-timeout", "1000", "--cluster-replica-validity-factor", "0",
        "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
        "--dir", str(directory), "--save", "", "--appendonly", "no", "--daemonize", "no",
    ]  # fmt: skip


def create_cluster(ports: Sequence[int]) -> None:
    """Join the nodes on `ports`, once each answers, as 3 masters with a replica each."""
    wait(lambda: all(redis_cli(p, "ping").strip() == "PONG" for p in ports), READY_TIMEOUT)
    nodes = [f"127.0.0.1:{port}" for port in ports]
    created = subprocess.run(  # noqa: S603 - Debian's redis-cli on our own ports
        ["redis-cli", "--cluster", "create", *nodes, "--cluster-replicas", "1",  # noqa: S607
         "--cluster-yes"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    if created.returncode != 0:
        raise RedisClusterError(f"redis-cli --cluster create: {created.stdout[-2000:]}")


def is_formed(port: int) -> bool:
    """The node knows slots: a cluster was created over it (now or before a restart)."""
    return "cluster_slots_assigned:0" not in redis_cli(port, "cluster", "info")


def is_ok(port: int) -> bool:
    return "cluster_state:ok" in redis_cli(port, "cluster", "info")


def is_synced(port: int) -> bool:
    """A master, or a replica whose link to its master is up: a replica that never
    finished its first sync has nothing to take over with."""
    replication = redis_cli(port, "info", "replication")
    return "role:master" in replication or "master_link_status:up" in replication


def wait_until_ok(ports: Sequence[int], timeout: float = READY_TIMEOUT) -> float:
    """Seconds until every node on `ports` says cluster_state:ok and every replica is
    in sync with its master."""
    started = time.monotonic()
    wait(lambda: all(is_ok(p) and is_synced(p) for p in ports), timeout)
    return time.monotonic() - started


def wait(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise RedisClusterError(f"Redis Cluster not ready after {timeout:.0f} s")


class NativeRedisCluster:
    """Start with start(), stop with stop(); `url` is the service's AUTH_REDIS_URL
    (every node, comma-separated) for AUTH_REDIS_MODE=cluster."""

    def __init__(self, state_dir: Path, ports: Sequence[int]) -> None:
        if len(ports) != NODES:
            raise ValueError(f"a cluster of 3 masters and 3 replicas needs {NODES} ports")
        self.state_dir = state_dir
        self.ports = list(ports)
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        return ",".join(f"redis://127.0.0.1:{port}" for port in self.ports)

    def start(self) -> None:
        for port in self.ports:
            self._start_node(port)
        try:
            create_cluster(self.ports)
        except RedisClusterError:
            self.stop()
            raise
        self.wait_until_ok()

    def restart(self, port: int) -> None:
        """Start a killed node again: its nodes.conf brings it back into the cluster,
        as a replica when another node took its place meanwhile."""
        self._start_node(port, fresh=False)
        self.wait_until_ok()

    def _start_node(self, port: int, *, fresh: bool = True) -> None:
        directory = self.state_dir / f"redis-{port}"
        directory.mkdir(parents=True, exist_ok=True)
        for stale in ("nodes.conf", "dump.rdb") if fresh else ():
            (directory / stale).unlink(missing_ok=True)
        with (directory / "redis.log").open("ab") as log:
            self.processes[port] = subprocess.Popen(  # noqa: S603 - fixed argument list
                node_command(port, directory), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def wait_until_ok(self, timeout: float = READY_TIMEOUT) -> float:
        """Seconds until every live node says cluster_state:ok and every replica is
        in sync with its master."""
        return wait_until_ok(self.live_ports(), timeout)

    def live_ports(self) -> list[int]:
        return [port for port, proc in self.processes.items() if proc.poll() is None]

    def masters(self) -> list[int]:
        """Ports of the live nodes that are masters now."""
        return [
            p for p in self.live_ports() if "role:master" in redis_cli(p, "info", "replication")
        ]

    def master_of(self, key: str) -> int:
        """The port of the master that holds `key`'s slot now."""
        slot = int(redis_cli(self.live_ports()[0], "cluster", "keyslot", key).strip())
        for line in redis_cli(self.live_ports()[0], "cluster", "nodes").splitlines():
            fields = line.split()
            if "master" not in fields[2] or "fail" in fields[2]:
                continue
            for part in fields[8:]:
                low, _, high = part.partition("-")
                if low.isdigit() and int(low) <= slot <= int(high or low):
                    return int(fields[1].split("@")[0].rsplit(":", 1)[1])
        raise RedisClusterError(f"no master serves slot {slot}")

    def kill(self, port: int) -> None:
        """SIGKILL one node of this cluster, by its pid."""
        process = self.processes[port]
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self.processes.clear()

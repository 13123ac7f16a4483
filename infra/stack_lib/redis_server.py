"""Redis, from Debian's package (installed with apt-get when missing and run as root):
one server, or in the clustered topology a Redis Cluster of six nodes, redis-1 to
redis-6 (3 masters with a replica each)."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from . import probes
from .proc import StackError, log, run_tool
from .redis_cluster import create_cluster, is_formed, is_ok, node_command, wait_until_ok
from .spec import REDIS_BUS_PORT_VARIABLE, REDIS_NODE_PORT_VARIABLE, Server, Settings


def _redis_preflight() -> list[str]:
    if shutil.which("redis-server") or (os.geteuid() == 0 and shutil.which("apt-get")):
        return []
    return [
        "'redis-server' is not on PATH; install Debian's redis-server package"
        " (the stack can do it only as root with apt-get)"
    ]


def _redis_provision() -> None:
    if shutil.which("redis-server"):
        return
    log("redis: installing Debian package redis-server...")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q", "redis-server"]
    with _no_service_autostart():
        try:
            run_tool(install, env=env)
        except StackError:  # usually a stale or missing package index
            run_tool(["apt-get", "update", "-q"], env=env)
            run_tool(install, env=env)
    if not shutil.which("redis-server"):
        raise StackError("apt-get installed redis-server but it is still not on PATH")


@contextlib.contextmanager
def _no_service_autostart() -> Iterator[None]:
    """Keep the package's post-install script from starting a system redis.

    That daemon would hold port 6379 and outlive the stack. Debian's
    invoke-rc.d consults /usr/sbin/policy-rc.d, where exit code 101 means
    "deny". An existing policy is left untouched.
    """
    policy = Path("/usr/sbin/policy-rc.d")
    if policy.exists():
        yield
        return
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    try:
        yield
    finally:
        policy.unlink(missing_ok=True)


def redis(s: Settings) -> Server:
    workdir = s.state / "redis"

    def command() -> list[str]:
        return [
            "redis-server", "--port", str(s.redis_port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", str(workdir),
        ]  # fmt: skip

    return Server(
        name="redis",
        label="Redis",
        ports=(("AUTH_STACK_REDIS_PORT", s.redis_port),),
        marker="redis-server",  # redis rewrites its process title, keeping only this
        ready_timeout=15,
        workdir=workdir,
        preflight=_redis_preflight,
        provision=_redis_provision,
        command=command,
        probe=probes.redis_ping,
    )


def redis_cluster_nodes(s: Settings) -> list[Server]:
    """The clustered topology's six nodes. Each keeps its nodes.conf in its state
    directory, so a node stopped and started again rejoins the cluster by itself;
    form_redis_cluster joins them the first time."""
    ports = zip(s.redis_node_ports, s.redis_bus_ports, strict=True)
    return [_cluster_node(s, n, port, bus) for n, (port, bus) in enumerate(ports, start=1)]


def _cluster_node(s: Settings, node_id: int, port: int, bus_port: int) -> Server:
    workdir = s.state / f"redis-{node_id}"
    return Server(
        name=f"redis-{node_id}",
        label=f"Redis Cluster node {node_id} of {len(s.redis_node_ports)}",
        ports=((REDIS_NODE_PORT_VARIABLE, port), (REDIS_BUS_PORT_VARIABLE, bus_port)),
        marker="redis-server",
        ready_timeout=15,
        workdir=workdir,
        preflight=_redis_preflight,
        provision=_redis_provision,
        command=lambda: node_command(port, workdir, bus_port),
        probe=probes.redis_ping,
    )


def form_redis_cluster(s: Settings) -> None:
    """Create the cluster over nodes that never formed one, then wait until every node
    says cluster_state:ok and every replica has synced."""
    ports = list(s.redis_node_ports)
    if not any(is_formed(port) for port in ports):
        log("redis: creating the cluster (3 masters, 1 replica each)...")
        create_cluster(ports)
    seconds = wait_until_ok(ports)
    log(f"redis: cluster ok ({seconds:.1f} s after its nodes answered)")


def redis_cluster_state(s: Settings) -> str:
    """ "ok" when a node answers that every slot is served, else why not."""
    answering = [port for port in s.redis_node_ports if probes.redis_ping(port)]
    if not answering:
        return "no node answers"
    return "ok" if is_ok(answering[0]) else f"not ok (as node port {answering[0]} sees it)"

"""Redis, from Debian's package (installed with apt-get when missing and run as root)."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from . import probes
from .proc import StackError, log, run_tool
from .spec import Server, Settings


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

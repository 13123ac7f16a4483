"""A second, private instance of one server, for tests that stop and restart it
without disturbing the servers the rest of the suite shares."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from tests.support.servers import STACK

# The first variable of each is the client port; Kafka also needs its KRaft controller's.
PORT_VARIABLES = {
    "redis": ("AUTH_STACK_REDIS_PORT",),
    "mongo": ("AUTH_STACK_MONGO_PORT",),
    "kafka": ("AUTH_STACK_KAFKA_PORT", "AUTH_STACK_KAFKA_CONTROLLER_PORT"),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PrivateServer:
    def __init__(self, name: str, state_dir: Path) -> None:
        self.name = name
        self._state_dir = state_dir
        self._started_once = False
        self._pick_ports()

    def _pick_ports(self) -> None:
        ports: list[int] = []
        while len(ports) < len(PORT_VARIABLES[self.name]):
            if (port := free_port()) not in ports:
                ports.append(port)
        self.port = ports[0]
        self._env = {
            **os.environ,
            "AUTH_STACK_DIR": str(self._state_dir),
            **{var: str(p) for var, p in zip(PORT_VARIABLES[self.name], ports, strict=True)},
        }

    def start(self, attempts: int = 3) -> None:
        """Start, retrying a failed start: a port picked free can be taken by another
        process before the server binds it. Until the first start succeeds the ports may
        change; after it, a restart keeps them, since clients already use them."""
        for attempt in range(1, attempts + 1):
            try:
                self._stack("start")
                self._started_once = True
                return
            except RuntimeError:
                self._stack("stop")  # whatever half-started
                if attempt == attempts:
                    raise
                if not self._started_once:
                    self._pick_ports()

    def stop(self) -> None:
        self._stack("stop")

    def _stack(self, verb: str) -> None:
        result = subprocess.run(  # noqa: S603 - fixed command of this repository
            [str(STACK), verb, self.name],
            env=self._env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"infra/stack {verb} {self.name}: {result.stderr[-2000:]}")

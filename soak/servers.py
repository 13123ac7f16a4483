"""The soak's own servers: Redis, MongoDB and Kafka from infra/stack in a private state
directory on free ports (restarting Kafka must not disturb anyone else), and the API as
a `python -m auth_api serve` process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
STACK = REPO / "infra" / "stack"
SERVER_NAMES = ("redis", "mongo", "kafka")


def free_port(taken: set[int]) -> int:
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port not in taken:
            taken.add(port)
            return port


class PrivateStack:
    def __init__(self, state: Path) -> None:
        taken: set[int] = set()
        self.ports = {name: free_port(taken) for name in SERVER_NAMES}
        self._env = {
            **os.environ,
            "AUTH_STACK_DIR": str(state),
            "AUTH_STACK_REDIS_PORT": str(self.ports["redis"]),
            "AUTH_STACK_MONGO_PORT": str(self.ports["mongo"]),
            "AUTH_STACK_KAFKA_PORT": str(self.ports["kafka"]),
            "AUTH_STACK_KAFKA_CONTROLLER_PORT": str(free_port(taken)),
        }

    @property
    def urls(self) -> dict[str, str]:
        return {
            "AUTH_REDIS_URL": f"redis://127.0.0.1:{self.ports['redis']}/0",
            "AUTH_MONGO_URL": f"mongodb://127.0.0.1:{self.ports['mongo']}",
            "AUTH_KAFKA_BOOTSTRAP": f"127.0.0.1:{self.ports['kafka']}",
        }

    def start(self, *names: str) -> None:
        self._stack("start", *(names or SERVER_NAMES))

    def stop(self, *names: str) -> None:
        self._stack("stop", *(names or SERVER_NAMES))

    def _stack(self, verb: str, *names: str) -> None:
        result = subprocess.run(  # noqa: S603 - this repository's own launcher
            [str(STACK), verb, *names],
            env=self._env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"infra/stack {verb} {' '.join(names)}:\n{result.stderr[-3000:]}")


class ApiProcess:
    """The service as deployed: its own process, stopped by its pid."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        taken: set[int] = set()
        self.base_url = f"http://127.0.0.1:{free_port(taken)}"
        self._env = env
        self.log = log
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        port = self.base_url.rsplit(":", 1)[1]
        with self.log.open("ab") as out:
            self._process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed module
                [sys.executable, "-m", "auth_api", "serve", "--port", port],
                cwd=REPO,
                env=self._env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.base_url, timeout=2) as client:
            while time.monotonic() < deadline and self._process.poll() is None:
                try:
                    if client.get("/health/live").status_code == 200:
                        return
                except httpx.TransportError:
                    time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the API did not come up; see {self.log}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

"""The soak's own servers: Redis, MongoDB and Kafka from infra/stack in a private state
directory on free ports (restarting Kafka must not disturb anyone else), and the API as
a `python -m auth_api serve` process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from infra.stack_lib.api import REPO, free_port, stop_process, wait_until_answering

SERVER_NAMES = ("redis", "mongo", "kafka")


class ApiProcess:
    """The service as deployed: its own process, stopped by its pid."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.base_url = f"http://127.0.0.1:{free_port()}"
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
        if not wait_until_answering(f"{self.base_url}/health/live", self._process, timeout):
            self.stop()
            raise RuntimeError(f"the API did not come up; see {self.log}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            stop_process(process)  # uvicorn's graceful shutdown

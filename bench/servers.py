"""The servers a run needs: the shared stack (MongoDB, Kafka), a private Redis whose
command counters only the benchmark moves, and the API itself as a separate process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import redis

from bench.stats import command_calls, cpu_ticks_of_stat, descendants, parent_of_stat
from infra.stack_lib.api import REPO, PrivateServer, Stack, stop_process, wait_until_answering

STATE = REPO / ".cache" / "bench"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def ensure_stack() -> tuple[dict[str, str], list[str]]:
    """The shared servers' URLs, and the servers this call had to start (to stop later)."""
    shared = Stack()
    started = shared.up()
    return shared.client_env(), started


class PrivateRedis(PrivateServer):
    """A Redis of our own, so that INFO commandstats counts only the API's commands."""

    def __init__(self) -> None:
        super().__init__("redis", STATE / "stack")

    def start(self) -> None:
        self.stop()  # a leftover from an interrupted run
        super().start()

    def command_calls(self) -> dict[str, int]:
        with redis.Redis.from_url(self.url) as client:
            return command_calls(client.info("commandstats"))


def shared_mongo_pid() -> int | None:
    """The pid of the shared stack's MongoDB server, if it runs."""
    return Stack().pid("mongo")


def process_tree_cpu_seconds(root: int) -> float:
    """CPU time (user + system) of root and all its live descendants, e.g. uvicorn workers.
    ProcessLookupError when root itself is gone: its time cannot be known any more."""
    stats: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stats[int(entry.name)] = (entry / "stat").read_text()
            except (FileNotFoundError, ProcessLookupError):
                continue  # exited while we looked
    if root not in stats:
        raise ProcessLookupError(f"process {root} has exited")
    parents = {pid: parent_of_stat(line) for pid, line in stats.items()}
    tree = descendants(root, parents)
    return sum(cpu_ticks_of_stat(stats[pid]) for pid in tree if pid in stats) / CLOCK_TICKS


class ApiProcess:
    """`python -m auth_api serve` on its own cores; stopped by its pid at the end."""

    def __init__(
        self, env: Mapping[str, str], port: int, workers: int, pin: list[str], label: str
    ) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self._env = dict(env)
        self._workers = workers
        self._pin = pin
        self.log_path = STATE / f"api-{label}.log"
        self._process: subprocess.Popen[bytes] | None = None
        self.profile_path: Path | None = None

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("the API is not running")
        return self._process.pid

    def command(self) -> list[str]:
        python = [sys.executable]
        if self.profile_path is not None:
            # pyinstrument saves its session when the server returns after SIGINT.
            python += ["-m", "pyinstrument", "-r", "pyisession", "-o", str(self.profile_path)]
        serve = ["-m", "auth_api", "serve", "--port", str(self.port)]
        return [*self._pin, *python, *serve, "--workers", str(self._workers)]

    def start(self, timeout: float = 60) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                self.command(), env=self._env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        if not wait_until_answering(f"{self.base_url}/health/live", self._process, timeout):
            self.stop()
            raise RuntimeError(f"the API did not come up; see {self.log_path}")

    def cpu_seconds(self) -> float:
        return process_tree_cpu_seconds(self.pid)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        stop_process(process)  # pyinstrument, too, saves its session on SIGINT
        if self.profile_path is not None and self.profile_path.exists():
            render_profile(self.profile_path)


def render_profile(session: Path) -> Path:
    """The saved session as text; `pyinstrument --load <session> --show-all` shows more."""
    text = session.with_suffix(".txt")
    subprocess.run(  # noqa: S603 - our own interpreter and the profiler's CLI
        [sys.executable, "-m", "pyinstrument", "--load", str(session), "-r", "text",
         "--no-color", "-o", str(text)],
        check=True, timeout=300,
    )  # fmt: skip
    return text

"""The servers a run needs: the shared stack (MongoDB, Kafka), a private Redis whose
command counters only the benchmark moves, and the API itself as a separate process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx
import redis

from bench.stats import command_calls, cpu_ticks_of_stat, descendants, parent_of_stat

REPO = Path(__file__).resolve().parents[1]
STACK = REPO / "infra" / "stack"
STATE = REPO / ".cache" / "bench"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def stack(*args: str, env: Mapping[str, str] | None = None, timeout: float = 900) -> str:
    result = subprocess.run(  # noqa: S603 - this repository's own launcher
        [str(STACK), *args], capture_output=True, text=True, timeout=timeout, check=False,
        env=None if env is None else {**os.environ, **env},
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"infra/stack {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def stopped_servers() -> list[str]:
    """Names of the shared servers that are not running now (status prints one per line)."""
    result = subprocess.run(  # noqa: S603
        [str(STACK), "status"], capture_output=True, text=True, timeout=60, check=False
    )
    return [line.split()[0] for line in result.stdout.splitlines() if " stopped " in line]


def ensure_stack() -> tuple[dict[str, str], list[str]]:
    """The shared servers' URLs, and the servers this call had to start (to stop later)."""
    was_stopped = stopped_servers()
    stack("up")
    line = stack("env").strip().removeprefix("export ")
    urls = dict(item.split("=", 1) for item in line.split())
    return urls, was_stopped


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PrivateRedis:
    """A Redis of our own, so that INFO commandstats counts only the API's commands."""

    def __init__(self) -> None:
        self.port = free_port()
        self._env = {
            "AUTH_STACK_DIR": str(STATE / "stack"),
            "AUTH_STACK_REDIS_PORT": str(self.port),
        }
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self, attempts: int = 3) -> None:
        for attempt in range(1, attempts + 1):
            stack("stop", "redis", env=self._env)  # a leftover from an interrupted run
            try:
                stack("start", "redis", env=self._env, timeout=120)
                return
            except RuntimeError:
                # infra/stack can read /proc while redis rewrites its process title, and
                # then takes a healthy start for an exit; another try settles it.
                if attempt == attempts:
                    raise

    def stop(self) -> None:
        stack("stop", "redis", env=self._env, timeout=120)

    def command_calls(self) -> dict[str, int]:
        with redis.Redis.from_url(self.url) as client:
            return command_calls(client.info("commandstats"))


def shared_mongo_pid() -> int | None:
    """The pid of the stack's FerretDB, from infra/stack's pid file, if it runs."""
    state = Path(os.environ.get("AUTH_STACK_DIR") or REPO / ".cache" / "stack")
    try:
        pid = int(json.loads((state / "mongo" / "mongo.pid").read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return None
    return pid if Path(f"/proc/{pid}").exists() else None


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
        self._wait_until_live(timeout)

    def _wait_until_live(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.base_url, timeout=2) as client:
            while time.monotonic() < deadline:
                if self._process is not None and self._process.poll() is not None:
                    break
                try:
                    if client.get("/health/live").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the API did not come up; see {self.log_path}")

    def cpu_seconds(self) -> float:
        return process_tree_cpu_seconds(self.pid)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown, workers included
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: only what it started
            process.wait(timeout=10)
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

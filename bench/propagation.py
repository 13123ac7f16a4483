"""How fast a logout reaches the others: two API processes (A and B) and a quiz app
on quizauth_client, one route per revocation mode (bench.quizapp). Each round logs a
live session out through A, then polls B's /auth/me and each quiz route with that
session's token until it is refused; the figure is the time from A's 204 to the first
401, one request's round trip included. Everything listens on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pymongo import MongoClient

from bench.httpconn import Connection
from bench.report import ScenarioResult
from bench.servers import STATE, ApiProcess
from bench.stats import latency_summary
from infra.stack_lib.api import free_port

# The quiz app's modes, in the order they are reported (bench.quizapp.MODES).
QUIZ_MODES = ("redis", "near_cache", "events")
SESSIONS_PER_USER = 10  # under the per-user cap of 20, which would evict (and revoke)
POLL_INTERVAL_S = 0.002
ROUND_TIMEOUT_S = 5.0
READY_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Probe:
    """Where a refusal is looked for."""

    name: str
    port: int
    path: str


@dataclass
class Samples:
    seconds: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0


class QuizAppProcess:
    def __init__(self, config: Mapping[str, Any]) -> None:
        self.port = free_port()
        self._config = {**config, "port": self.port}
        self.log_path = STATE / "quizapp.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "bench.quizapp", json.dumps(self._config)],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        """Until every mode can answer: the events mode has read the log back."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        with httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=2) as client:
            while time.monotonic() < deadline:
                if self._process is not None and self._process.poll() is not None:
                    break
                try:
                    if client.get("/ready").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the quiz app did not become ready; see {self.log_path}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()  # by its pid: uvicorn stops gracefully on SIGTERM
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def generate_key(directory: Path) -> None:
    subprocess.run(  # noqa: S603 - our own interpreter and the service's key command
        [sys.executable, "-m", "auth_api", "keys", "generate", "--alg", "ES256", "--activate",
         "--dir", str(directory)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip


async def open_sessions(conn: Connection, tag: str, password: str, count: int) -> list[str]:
    """`count` live sessions' access tokens, at most SESSIONS_PER_USER per user."""
    tokens: list[str] = []
    for user in range(-(-count // SESSIONS_PER_USER)):
        body = {"email": f"bench.{tag}.prop{user}@example.com", "password": password}
        if (await conn.request("POST", "/auth/register", body)).status != 201:
            raise RuntimeError("propagation: registration failed")
        for _ in range(min(SESSIONS_PER_USER, count - len(tokens))):
            reply = await conn.request("POST", "/auth/login", body)
            if reply.status != 200:
                raise RuntimeError(f"propagation: login answered {reply.status}")
            tokens.append(reply.json()["access_token"])
    return tokens


async def until_refused(conn: Connection, probe: Probe, token: str, since: float) -> float | None:
    """Seconds from `since` to the first 401; None when none came in time."""
    deadline = since + ROUND_TIMEOUT_S
    while time.perf_counter() < deadline:
        status = (await conn.request("GET", probe.path, token=token)).status
        if status == 401:
            return time.perf_counter() - since
        await asyncio.sleep(POLL_INTERVAL_S)
    return None


async def one_round(
    api_a: Connection, probes: Mapping[Probe, Connection], token: str, samples: Samples
) -> None:
    for probe, conn in probes.items():  # live everywhere first (warms every cache)
        if (await conn.request("GET", probe.path, token=token)).status != 200:
            samples.errors[probe.name] += 1
    if (await api_a.request("POST", "/auth/logout", token=token)).status != 204:
        raise RuntimeError("propagation: logout through A failed")
    acknowledged = time.perf_counter()
    waits = [until_refused(conn, probe, token, acknowledged) for probe, conn in probes.items()]
    for probe, seconds in zip(probes, await asyncio.gather(*waits), strict=True):
        if seconds is None:
            samples.errors[probe.name] += 1
        else:
            samples.seconds[probe.name].append(seconds)


async def measure(
    port_a: int, probes: list[Probe], tag: str, password: str, rounds: int
) -> Samples:
    api_a = Connection("127.0.0.1", port_a)
    connections = {probe: Connection("127.0.0.1", probe.port) for probe in probes}
    samples = Samples({p.name: [] for p in probes}, {p.name: 0 for p in probes})
    try:
        tokens = await open_sessions(api_a, tag, password, rounds)
        started = time.perf_counter()
        for token in tokens:
            await one_round(api_a, connections, token, samples)
        samples.elapsed_s = time.perf_counter() - started
    finally:
        for conn in (api_a, *connections.values()):
            await conn.close()
    return samples


def results_of(samples: Samples, rounds: int) -> list[ScenarioResult]:
    results = []
    for name, seconds in samples.seconds.items():
        summary = latency_summary([1000 * s for s in seconds])
        result = ScenarioResult(
            name=f"propagation_{name}", tool="probe", concurrency=1, requests=len(seconds),
            elapsed_s=0.0,  # a rate means nothing here
            errors=samples.errors[name], p50_ms=summary["p50_ms"], p95_ms=summary["p95_ms"],
            p99_ms=summary["p99_ms"],
            extra={"max_ms": summary["max_ms"], "rounds": rounds},
        )  # fmt: skip
        results.append(result)
    results[0].notes.append(
        f"this and the other propagation rows: from the logout's 204 on process A to the "
        f"first 401; {rounds} rounds, polled every {1000 * POLL_INTERVAL_S:g} ms; errors "
        f"are rounds not refused within {ROUND_TIMEOUT_S:g} s, or not accepted before"
    )
    return results


def run_propagation(env: Mapping[str, str], redis_url: str, password: str, tag: str,
                    rounds: int) -> list[ScenarioResult]:  # fmt: skip
    """Both API processes on `env` (one worker each), with an ES256 key of this run."""
    keys = STATE / f"keys-{tag}"
    generate_key(keys)
    api_env = {**env, "AUTH_JWT_ALGORITHM": "ES256", "AUTH_JWT_KEYS_DIR": str(keys)}
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, keys, ignore_errors=True)
        stack.callback(drop_database, env["AUTH_MONGO_URL"], env["AUTH_MONGO_DB"])
        api_a, api_b = (ApiProcess(api_env, free_port(), 1, [], f"propagation-{n}") for n in "ab")
        for api in (api_a, api_b):
            api.start()
            stack.callback(api.stop)
        quiz = QuizAppProcess(quiz_config(env, redis_url, api_a.base_url))
        quiz.start()
        stack.callback(quiz.stop)
        probes = [Probe("api_b", api_b.port, "/auth/me")]
        probes += [Probe(f"quiz_{mode}", quiz.port, f"/quiz/{mode}") for mode in QUIZ_MODES]
        samples = asyncio.run(measure(api_a.port, probes, tag, password, rounds))
    return results_of(samples, rounds)


def quiz_config(env: Mapping[str, str], redis_url: str, api_base: str) -> dict[str, Any]:
    return {
        "modes": list(QUIZ_MODES),
        "jwks_url": f"{api_base}/.well-known/jwks.json",
        "issuer": env.get("AUTH_JWT_ISSUER", "quizauth"),
        "audience": env.get("AUTH_JWT_AUDIENCE", "quiz-services"),
        "redis_url": redis_url,
        "redis_prefix": env["AUTH_REDIS_PREFIX"],
        "kafka_bootstrap": env["AUTH_KAFKA_BOOTSTRAP"],
        "topic_prefix": env["AUTH_KAFKA_TOPIC_PREFIX"],
    }


def drop_database(url: str, name: str) -> None:
    client: MongoClient[dict[str, Any]]
    with MongoClient(url, serverSelectionTimeoutMS=5000) as client:
        client.drop_database(name)

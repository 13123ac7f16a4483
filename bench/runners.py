"""Runs one load generator process and measures the server around it: CPU time of the
API's process tree and Redis commands, taken exactly at the client's measured phase."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import IO, Any

from bench.report import ScenarioResult
from bench.servers import ApiProcess, PrivateRedis, process_tree_cpu_seconds, shared_mongo_pid
from bench.stats import command_delta
from bench.wrk import run_wrk


@dataclass
class Meter:
    """Server-side cost over one measured phase: the API's CPU time, the database's
    (the mongo server is shared, so other users' queries count too), and Redis commands."""

    api: ApiProcess
    redis: PrivateRedis | None = None
    db_pid: int | None = field(default_factory=shared_mongo_pid)
    cpu_s: float = 0.0
    db_cpu_s: float | None = None
    wall_s: float = 0.0
    commands: dict[str, int] = field(default_factory=dict)
    _start: tuple[float, float, float | None] = (0.0, 0.0, None)
    _calls0: dict[str, int] = field(default_factory=dict)

    def begin(self) -> None:
        if self.redis is not None:
            self._calls0 = self.redis.command_calls()
        self._start = (time.perf_counter(), self.api.cpu_seconds(), self._db_cpu())

    def end(self) -> None:
        wall0, cpu0, db0 = self._start
        self.cpu_s = self.api.cpu_seconds() - cpu0
        self.wall_s = time.perf_counter() - wall0
        db = self._db_cpu()
        self.db_cpu_s = db - db0 if db is not None and db0 is not None else None
        if self.redis is not None:
            self.commands = command_delta(self._calls0, self.redis.command_calls())

    def _db_cpu(self) -> float | None:
        if self.db_pid is None:
            return None
        try:
            return process_tree_cpu_seconds(self.db_pid)
        except ProcessLookupError:  # the shared mongo server was restarted meanwhile
            self.db_pid = None
            return None

    def apply(self, result: ScenarioResult) -> ScenarioResult:
        if result.requests:
            result.cpu_ms_per_request = 1000 * self.cpu_s / result.requests
            if self.db_cpu_s is not None:
                result.db_cpu_ms_per_request = 1000 * self.db_cpu_s / result.requests
        if self.wall_s > 0:
            result.server_cpu_percent = 100 * self.cpu_s / self.wall_s
        return result


def _expect(stream: IO[str], prefix: str) -> str:
    line = stream.readline()
    if not line.startswith(prefix):
        raise RuntimeError(f"load client: expected {prefix!r}, got {line!r}")
    return line.removeprefix(prefix)


def run_client(plan: dict[str, Any], pin: list[str], meter: Meter) -> dict[str, Any]:
    """`python -m bench.client` on the load cores, bracketed by the meter."""
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [*pin, sys.executable, "-m", "bench.client"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    if process.stdin is None or process.stdout is None:
        raise RuntimeError("the load client has no pipes")
    try:
        process.stdin.write(json.dumps(plan) + "\n")
        process.stdin.flush()
        _expect(process.stdout, "MARK start")
        meter.begin()
        process.stdin.write("\n")
        process.stdin.flush()
        _expect(process.stdout, "MARK end")
        meter.end()
        process.stdin.write("\n")
        process.stdin.close()
        result: dict[str, Any] = json.loads(_expect(process.stdout, "RESULT "))
    finally:
        if process.wait(timeout=120) != 0:
            raise RuntimeError(f"load client exited with {process.returncode}")
        process.stdout.close()
    return result


def from_group(
    name: str, group: dict[str, Any], concurrency: int, meter: Meter | None
) -> ScenarioResult:
    result = ScenarioResult(
        name=name,
        tool="asyncio",
        concurrency=concurrency,
        requests=group["requests"],
        elapsed_s=group["elapsed_s"],
        errors=group["errors"],
        p50_ms=group["p50_ms"],
        p95_ms=group["p95_ms"],
        p99_ms=group["p99_ms"],
        extra={"statuses": group["statuses"]},
    )
    if meter is not None:
        meter.apply(result)
    if group["errors"]:
        result.notes.append(f"statuses: {group['statuses']}")
    return result


def run_wrk_scenario(
    name: str,
    api: ApiProcess,
    path: str,
    token: str | None,
    seconds: float,
    warmup: float,
    connections: int,
    pin: list[str],
) -> ScenarioResult:
    url = api.base_url + path
    run_wrk(url, warmup, connections, token, pin)
    meter = Meter(api)
    meter.begin()
    raw = run_wrk(url, seconds, connections, token, pin)
    meter.end()
    result = ScenarioResult(
        name=name, tool="wrk", concurrency=connections, requests=raw["requests"],
        elapsed_s=raw["elapsed_s"], errors=raw["errors"], p50_ms=raw["p50_ms"],
        p95_ms=raw["p95_ms"], p99_ms=raw["p99_ms"],
    )  # fmt: skip
    meter.apply(result)
    if raw["error_kinds"]:
        result.notes.append(f"wrk errors: {raw['error_kinds']}")
    return result


def run_hash_rate(
    env: dict[str, str], threads: int, seconds: float, warmup: float, pin: list[str]
) -> ScenarioResult:
    command = [*pin, sys.executable, "-m", "bench.hashrate", "--threads", str(threads),
               "--seconds", str(seconds), "--warmup", str(warmup)]  # fmt: skip
    completed = subprocess.run(  # noqa: S603 - our own interpreter and module
        command, env=env, capture_output=True, text=True, timeout=seconds + 120, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"bench.hashrate failed: {completed.stderr[-2000:]}")
    raw = json.loads(_expect_in(completed.stdout, "RESULT "))
    return ScenarioResult(
        name="raw_hash", tool="threads", concurrency=threads, requests=raw["hashes"],
        elapsed_s=raw["elapsed_s"], errors=0, p50_ms=raw["p50_ms"], p95_ms=raw["p95_ms"],
        p99_ms=raw["p99_ms"], cpu_ms_per_request=raw["cpu_ms_per_hash"],
        server_cpu_percent=raw["cpu_percent"], extra={"parameters": raw["parameters"]},
    )  # fmt: skip


def _expect_in(text: str, prefix: str) -> str:
    for line in text.splitlines():
        if line.startswith(prefix):
            return line.removeprefix(prefix)
    raise RuntimeError(f"no {prefix!r} line in:\n{text[-2000:]}")

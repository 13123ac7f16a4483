"""Closed-loop and paced load over kept-alive connections, with latency recording."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bench.httpconn import Connection
from bench.stats import latency_summary

# One request on a worker's own connection; returns the HTTP status.
Step = Callable[[Connection], Awaitable[int]]
TRANSPORT_FAILURE = 0  # the status recorded when no response came back


@dataclass
class Recorder:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

    async def timed(self, step: Step, conn: Connection) -> None:
        started = time.perf_counter()
        try:
            status = await step(conn)
        except (OSError, asyncio.IncompleteReadError, ValueError, KeyError):
            status = TRANSPORT_FAILURE
        self.latencies_ms.append((time.perf_counter() - started) * 1000)
        self.statuses[status] += 1

    def summary(self, elapsed_s: float) -> dict[str, Any]:
        errors = sum(n for status, n in self.statuses.items() if not 200 <= status < 300)
        return {
            "requests": len(self.latencies_ms),
            "errors": errors,
            "statuses": {str(s): n for s, n in sorted(self.statuses.items())},
            "elapsed_s": elapsed_s,
            **latency_summary(self.latencies_ms),
        }


@dataclass
class Budget:
    """When a phase ends: after a duration, or after a number of requests, or both."""

    seconds: float | None = None
    requests: int | None = None
    _deadline: float = 0.0

    def start(self) -> None:
        self._deadline = time.perf_counter() + (self.seconds or 0.0)

    def take(self) -> bool:
        if self.requests is not None:
            if self.requests <= 0:
                return False
            self.requests -= 1
            return True
        return time.perf_counter() < self._deadline


async def closed_loop(step: Step, conn: Connection, budget: Budget, rec: Recorder) -> None:
    """Send the next request as soon as the previous answered, while the budget lasts."""
    while budget.take():
        await rec.timed(step, conn)


async def paced(
    step: Step, conn: Connection, seconds: float, interval_s: float, rec: Recorder
) -> None:
    """One request every interval (sooner after a late one): a light probe whose latency
    reflects the server's state rather than the probe's own queueing."""
    started = time.perf_counter()
    sent = 0
    while (now := time.perf_counter()) - started < seconds:
        due = started + sent * interval_s
        if due > now:
            await asyncio.sleep(due - now)
        await rec.timed(step, conn)
        sent += 1


async def close_all(connections: list[Connection]) -> None:
    for conn in connections:
        await conn.close()

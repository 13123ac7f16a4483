"""Steady traffic for the fault tests: rounds of register, login and me, each answer
recorded with the phase the test was in when the request started and when it ended."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from tests.support.api import PASSWORD, bearer, unique_email
from tests.support.forgery import parts

# A request that takes longer has hung: every outbound call of the service has a timeout.
REQUEST_TIMEOUT_SECONDS = 10.0
MAX_ROUNDS = 2000  # a bound, far above what a test's windows take


@dataclass(frozen=True)
class Outcome:
    operation: str
    status: int  # 0: no answer (transport error or timeout)
    code: str | None
    detail: str | None
    retry_after: str | None
    started_in: str
    ended_in: str


@dataclass
class Traffic:
    api: httpx.AsyncClient
    phase: str = "healthy"
    outcomes: list[Outcome] = field(default_factory=list)
    registered: dict[str, str] = field(default_factory=dict)  # user id -> email
    login_sessions: set[str] = field(default_factory=set)  # sid of each 200 login
    rounds: dict[str, int] = field(default_factory=dict)
    task: asyncio.Task[None] | None = None
    stopping: bool = False
    _token: str | None = None

    def during(self, phase: str, operation: str | None = None) -> list[Outcome]:
        """Answers to requests that started and ended in `phase`."""
        return [
            o
            for o in self.outcomes
            if o.started_in == o.ended_in == phase and operation in (None, o.operation)
        ]

    async def rounds_in(self, phase: str, count: int, seconds: float = 30) -> None:
        """Wait until `count` whole rounds have run in `phase`."""
        self.phase, self.rounds[phase] = phase, 0
        deadline = time.monotonic() + seconds
        while self.rounds[phase] < count:
            if self.task is not None and self.task.done():
                self.task.result()  # the traffic failed: show why
            assert time.monotonic() < deadline, f"{count} rounds in '{phase}' took over {seconds}s"
            await asyncio.sleep(0.05)

    async def run(self) -> None:
        for _ in range(MAX_ROUNDS):
            if self.stopping:
                return
            phase = self.phase
            await self._round()
            if self.phase == phase:
                self.rounds[phase] = self.rounds.get(phase, 0) + 1

    async def _round(self) -> None:
        email = unique_email("traffic")
        credentials = {"email": email, "password": PASSWORD}
        registered = await self._call(
            "register", lambda: self.api.post("/auth/register", json=credentials)
        )
        if registered.status_code == 201:
            self.registered[registered.json()["id"]] = email
        login = await self._call("login", lambda: self.api.post("/auth/login", json=credentials))
        if login.status_code == 200:
            self._token = login.json()["access_token"]
            self.login_sessions.add(parts(self._token)[1]["sid"])
        if self._token is not None:
            token = self._token
            await self._call("me", lambda: self.api.get("/auth/me", headers=bearer(token)))

    async def _call(
        self, operation: str, send: Callable[[], Awaitable[httpx.Response]]
    ) -> httpx.Response:
        started_in = self.phase
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_SECONDS):
                response = await send()
        except (httpx.TransportError, TimeoutError):
            response = httpx.Response(0)
        problem: dict[str, str] = {}
        if response.headers.get("content-type") == "application/problem+json":
            problem = response.json()
        self.outcomes.append(
            Outcome(
                operation,
                response.status_code,
                problem.get("code"),
                problem.get("detail"),
                response.headers.get("retry-after"),
                started_in,
                self.phase,
            )
        )
        return response


@contextlib.asynccontextmanager
async def traffic_through(api: httpx.AsyncClient) -> AsyncIterator[Traffic]:
    """Traffic runs in the background while the block runs; stopped at its end."""
    traffic = Traffic(api)
    traffic.task = task = asyncio.create_task(traffic.run())
    try:
        yield traffic
    finally:
        # Asked, not cancelled: a cancellation landing inside a driver call can be lost.
        traffic.stopping = True
        async with asyncio.timeout(REQUEST_TIMEOUT_SECONDS * 4):
            await task

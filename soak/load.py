"""Virtual users, each repeating a journey through the API: register, log in, read the
profile, refresh, and then either log out (after which the old tokens must fail) or log
in once more. Every answer is counted; any other answer than the journey expects is a
violation, recorded with when it happened."""

from __future__ import annotations

import asyncio
import base64
import json
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import httpx

PASSWORD = "soak: correct horse battery staple"  # noqa: S105 - the load's own users


@dataclass
class Ledger:
    started: float = field(default_factory=time.monotonic)
    counts: Counter[tuple[str, int]] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    registered: dict[str, str] = field(default_factory=dict)  # user id -> email
    login_sessions: set[str] = field(default_factory=set)  # sid of every 200 login
    violations: list[str] = field(default_factory=list)
    requests: int = 0
    load_seconds: float = 0.0  # set when the load ends
    # Wall-clock times of the Kafka restart, to tell events recorded around it.
    kafka_stopped_at: datetime | None = None
    kafka_back_at: datetime | None = None

    def elapsed(self) -> float:
        return time.monotonic() - self.started


class Expectation(Exception):
    """An answer the journey did not expect; the journey starts over."""


class Pacer:
    """Spaces request starts evenly at `rate` per second across all virtual users: a
    steady load the stack can sustain, rather than as much as it can take."""

    def __init__(self, rate: float) -> None:
        self._interval = 1 / rate
        self._next = time.monotonic()
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            now = time.monotonic()
            self._next = max(self._next + self._interval, now)
            delay = self._next - now
        await asyncio.sleep(delay)


@dataclass
class Load:
    """`clients`: one per API process; each request goes to the next in turn, so a
    journey's steps land on different processes."""

    clients: list[httpx.AsyncClient]
    ledger: Ledger
    pacer: Pacer
    deadline: float
    max_requests: int

    def running(self) -> bool:
        return time.monotonic() < self.deadline and self.ledger.requests < self.max_requests

    async def virtual_user(self, seed: int) -> None:
        chance = random.Random(seed)  # noqa: S311 - a traffic mix, not a secret
        while self.running():
            try:
                await self.journey(chance)
            except Expectation:
                continue

    async def journey(self, chance: random.Random) -> None:
        email = f"soak.{uuid.uuid4().hex[:16]}@example.com"
        body = {"email": email, "password": PASSWORD}
        user = (await self.call("register", 201, "POST", "/auth/register", json=body)).json()
        self.ledger.registered[user["id"]] = email
        tokens = await self.login(body)
        await self.call("me", 200, "GET", "/auth/me", token=tokens["access_token"])
        rotated = (
            await self.call(
                "refresh",
                200,
                "POST",
                "/auth/refresh",
                json={"refresh_token": tokens["refresh_token"]},
            )
        ).json()
        await self.call("me", 200, "GET", "/auth/me", token=rotated["access_token"])
        if chance.random() < 0.5:
            await self.call("logout", 204, "POST", "/auth/logout", token=rotated["access_token"])
            # Revoked at once: the access token and the session's refresh token fail.
            await self.call(
                "me after logout", 401, "GET", "/auth/me", token=rotated["access_token"]
            )
            again = {"refresh_token": rotated["refresh_token"]}
            await self.call("refresh after logout", 401, "POST", "/auth/refresh", json=again)
        else:
            second = await self.login(body)
            await self.call("me", 200, "GET", "/auth/me", token=second["access_token"])

    async def login(self, body: dict[str, str]) -> dict[str, str]:
        tokens: dict[str, str] = (
            await self.call("login", 200, "POST", "/auth/login", json=body)
        ).json()
        self.ledger.login_sessions.add(session_of(tokens["access_token"]))
        return tokens

    async def call(
        self,
        operation: str,
        expected: int,
        method: str,
        path: str,
        token: str | None = None,
        json: dict[str, str] | None = None,
    ) -> httpx.Response:
        if not self.running():
            raise Expectation("the run is over")
        headers = {"Authorization": f"Bearer {token}"} if token else None
        await self.pacer.wait()
        self.ledger.requests += 1
        started = time.monotonic()
        client = self.clients[self.ledger.requests % len(self.clients)]
        try:
            response = await client.request(method, path, headers=headers, json=json)
        except httpx.HTTPError as exc:
            self.ledger.counts[(operation, 0)] += 1
            self.violate(f"{operation}: no answer ({exc!r})")
            raise Expectation(operation) from exc
        self.ledger.latencies.setdefault(operation, []).append(time.monotonic() - started)
        self.ledger.counts[(operation, response.status_code)] += 1
        if response.status_code != expected:
            self.violate(f"{operation}: {response.status_code} {response.text[:200]}")
            raise Expectation(operation)
        return response

    def violate(self, what: str) -> None:
        self.ledger.violations.append(f"t={self.ledger.elapsed():.1f}s {what}")


def session_of(access_token: str) -> str:
    """The token's `sid` claim, read without verifying (the service verified it)."""
    payload = access_token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["sid"])

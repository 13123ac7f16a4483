"""The asyncio load generator, run as its own process: `python -m bench.client` reads
its plan as JSON on stdin. It warms up, prints `MARK start`, waits for a line on stdin
(the parent snapshots the server's CPU and Redis counters), runs the measured phase,
does the same with `MARK end`, and prints `RESULT <json>`."""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvloop

from bench.httpconn import Connection
from bench.load import (
    TRANSPORT_FAILURE,
    Budget,
    Recorder,
    Step,
    close_all,
    closed_loop,
    paced,
)


@dataclass
class Group:
    """Workers that share a recorder: closed-loop load, or one paced probe."""

    name: str
    steps: list[Step]
    pace_interval_s: float | None = None


@dataclass
class Phases:
    """The unmeasured phase (warm-up or preparation), then the measured one."""

    warmup: list[Group]
    measured: list[Group]
    warmup_budget: Budget
    measured_budget: Budget


def me_step(token: str) -> Step:
    async def step(conn: Connection) -> int:
        return (await conn.request("GET", "/auth/me", token=token)).status

    return step


def register_step(plan: dict[str, Any], registered: list[str]) -> Step:
    serial = itertools.count()

    async def step(conn: Connection) -> int:
        email = f"bench.{plan['tag']}.{next(serial)}@example.com"
        body = {"email": email, "password": plan["password"]}
        reply = await conn.request("POST", "/auth/register", body)
        if reply.status == 201:
            registered.append(email)
        return reply.status

    return step


def login_step(plan: dict[str, Any], tokens: list[str] | None = None) -> Step:
    """Logins cycling through the registered users; keeps the access tokens if asked."""
    users: list[str] = json.loads(Path(plan["users_file"]).read_text())
    emails = itertools.cycle(users)

    async def step(conn: Connection) -> int:
        body = {"email": next(emails), "password": plan["password"]}
        reply = await conn.request("POST", "/auth/login", body)
        if reply.status == 200 and tokens is not None:
            tokens.append(reply.json()["access_token"])
        return reply.status

    return step


def logout_step(tokens: list[str]) -> Step:
    async def step(conn: Connection) -> int:
        if not tokens:  # a login of the preparation failed: report it, as an error
            return TRANSPORT_FAILURE
        return (await conn.request("POST", "/auth/logout", token=tokens.pop())).status

    return step


def refresh_step(plan: dict[str, Any], worker: int) -> Step:
    """A chain of rotations: each refresh spends the token the previous one returned."""
    users: list[str] = json.loads(Path(plan["users_file"]).read_text())
    email = users[worker % len(users)]
    current: dict[str, str] = {}

    async def step(conn: Connection) -> int:
        if "token" not in current:  # first use, or the chain broke: one login, one hash
            body = {"email": email, "password": plan["password"]}
            reply = await conn.request("POST", "/auth/login", body)
            if reply.status != 200:
                return reply.status
            current["token"] = reply.json()["refresh_token"]
        reply = await conn.request("POST", "/auth/refresh", {"refresh_token": current["token"]})
        if reply.status == 200:
            current["token"] = reply.json()["refresh_token"]
        else:
            current.pop("token")
        return reply.status

    return step


def logout_phases(plan: dict[str, Any]) -> Phases:
    """Logout ends a session, so each needs a login of its own: the unmeasured phase
    opens them (one hash each), the measured one ends them all."""
    n, sessions = plan["concurrency"], plan["sessions"]
    tokens: list[str] = []
    opening = Group("login", [login_step(plan, tokens)] * plan["login_clients"])
    ending = Group("logout", [logout_step(tokens)] * n)
    return Phases([opening], [ending], Budget(requests=sessions), Budget(requests=sessions))


def load_groups(plan: dict[str, Any], registered: list[str]) -> list[Group]:
    n = plan["concurrency"]
    probe_interval = plan.get("probe_interval_ms", 10) / 1000
    builders: dict[str, Callable[[], list[Group]]] = {
        "me": lambda: [Group("me", [me_step(plan["token"])] * n)],
        "register": lambda: [Group("register", [register_step(plan, registered)] * n)],
        "login": lambda: [Group("login", [login_step(plan)] * n)],
        "refresh": lambda: [Group("refresh", [refresh_step(plan, w) for w in range(n)])],
        "me_idle": lambda: [Group("me", [me_step(plan["token"])], probe_interval)],
        "me_under_login": lambda: [
            Group("me", [me_step(plan["token"])], probe_interval),
            Group("login", [login_step(plan)] * n),
        ],
    }
    return builders[plan["scenario"]]()


def build_phases(plan: dict[str, Any], registered: list[str]) -> Phases:
    if plan["scenario"] == "logout":
        return logout_phases(plan)
    groups = load_groups(plan, registered)
    measured = Budget(seconds=plan["duration_s"], requests=plan.get("requests"))
    return Phases(groups, groups, Budget(seconds=plan["warmup_s"]), measured)


async def run_phase(
    groups: list[Group], conns: dict[str, list[Connection]], budget: Budget
) -> dict[str, Recorder]:
    recorders = {g.name: Recorder() for g in groups}
    budgets = {g.name: Budget(budget.seconds, budget.requests) for g in groups}
    work: list[Awaitable[None]] = []
    for group in groups:
        rec, group_budget = recorders[group.name], budgets[group.name]
        group_budget.start()
        for step, conn in zip(group.steps, conns[group.name], strict=True):
            if group.pace_interval_s is None:
                work.append(closed_loop(step, conn, group_budget, rec))
            else:
                seconds = budget.seconds or 0.0
                work.append(paced(step, conn, seconds, group.pace_interval_s, rec))
    await asyncio.gather(*work)
    return recorders


async def handshake(mark: str) -> None:
    print(f"MARK {mark}", flush=True)
    await asyncio.to_thread(sys.stdin.readline)


def add_users(path: Path, emails: list[str]) -> None:
    path.write_text(json.dumps(json.loads(path.read_text()) + emails))


async def run(plan: dict[str, Any]) -> dict[str, Any]:
    registered: list[str] = []
    phases = build_phases(plan, registered)
    groups = {g.name: g for g in [*phases.warmup, *phases.measured]}
    conns = {
        name: [Connection(plan["host"], plan["port"]) for _ in g.steps]
        for name, g in groups.items()
    }
    try:
        await run_phase(phases.warmup, conns, phases.warmup_budget)
        await handshake("start")
        cpu, started = time.process_time(), time.perf_counter()
        recorders = await run_phase(phases.measured, conns, phases.measured_budget)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        await handshake("end")
    finally:
        await close_all([c for group in conns.values() for c in group])
    if plan["scenario"] == "register":  # later logins spread over these users too
        await asyncio.to_thread(add_users, Path(plan["users_file"]), registered)
    return {
        "groups": {name: rec.summary(elapsed) for name, rec in recorders.items()},
        "client_cpu_percent": 100 * cpu / elapsed if elapsed else None,
    }


def main() -> None:
    plan = json.loads(sys.stdin.readline())
    # The server runs on uvloop (uvicorn[standard]); so does its load, for the same reason.
    result = uvloop.run(run(plan))
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

"""The scenarios of a run, in order; each returns its results. They share one API
process; the last restarts it with the relay off. The `_direct` scenarios ask a second
API process, started for them, that checks revocations in Redis on every request
(AUTH_REVOCATION_NEAR_CACHE=false)."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.conditions import HASH_SETTINGS
from bench.config import BenchConfig, CorePlan
from bench.propagation import run_propagation
from bench.report import ScenarioResult
from bench.runners import Meter, from_group, run_client, run_hash_rate, run_wrk_scenario
from bench.scaling import ScalingRun
from bench.servers import STATE, ApiProcess, PrivateRedis
from infra.stack_lib.api import free_port

UNLIMITED = str(10**9)
# Users per login client before the register scenario adds more: a user holds at most
# 20 sessions, and a login past that evicts the oldest, which logout would then miss.
POOL_PER_CLIENT = 8  # rate limits the load can never reach: the limiter must not reject


@dataclass
class Context:
    cfg: BenchConfig
    cores: CorePlan
    urls: dict[str, str]
    redis: PrivateRedis
    tag: str = field(default_factory=lambda: secrets.token_hex(4))
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    password: str = field(default_factory=lambda: "bench " + secrets.token_urlsafe(12))
    api: ApiProcess | None = None
    api_direct: ApiProcess | None = None  # the near cache off
    token: str = ""
    results: dict[str, ScenarioResult] = field(default_factory=dict)
    # Sections of the report beyond the main table: name -> (text, JSON-ready figures).
    sections: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)

    @property
    def users_file(self) -> Path:
        return STATE / f"users-{self.tag}.json"

    @property
    def mongo_db(self) -> str:
        return f"bench_{self.tag}"

    def running_api(self) -> ApiProcess:
        if self.api is None:
            raise RuntimeError("the API is not running")
        return self.api


def api_env(ctx: Context, relay: bool) -> dict[str, str]:
    # Hash settings pass through from the caller's environment, to bench other parameters.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTH_")}
    env |= {k: os.environ[k] for k in HASH_SETTINGS if k in os.environ}
    return env | {
        "AUTH_ENV": "production",
        "AUTH_JWT_SECRET": ctx.secret,
        "AUTH_MONGO_URL": ctx.urls["AUTH_MONGO_URL"],
        "AUTH_REDIS_URL": ctx.redis.url,
        "AUTH_KAFKA_BOOTSTRAP": ctx.urls["AUTH_KAFKA_BOOTSTRAP"],
        "AUTH_MONGO_DB": ctx.mongo_db,
        "AUTH_REDIS_PREFIX": f"bench:{ctx.tag}:",
        "AUTH_KAFKA_TOPIC_PREFIX": "bench.",
        "AUTH_OUTBOX_RELAY": "true" if relay else "false",
        "AUTH_ACCESS_TOKEN_TTL_SECONDS": "3600",
        "AUTH_LOGIN_IP_LIMIT": UNLIMITED,
        "AUTH_LOGIN_ACCOUNT_IP_LIMIT": UNLIMITED,
        "AUTH_REGISTER_IP_LIMIT": UNLIMITED,
        "AUTH_REGISTER_GLOBAL_LIMIT": UNLIMITED,
    }


def start_api(ctx: Context, relay: bool, label: str) -> None:
    port = ctx.cfg.port or free_port()
    api = ApiProcess(api_env(ctx, relay), port, ctx.cfg.workers, ctx.cores.server, label)
    if ctx.cfg.profile:
        api.profile_path = STATE / f"profile-{label}.pyisession"
    api.start()
    ctx.api = api


def stop_api(ctx: Context) -> None:
    for api in (ctx.api, ctx.api_direct):
        if api is not None:
            api.stop()
    ctx.api = ctx.api_direct = None


def direct_api(ctx: Context) -> ApiProcess:
    """The API process without the near cache, on the same cores, servers and data;
    started on first use. Idle while the other is measured, and the other while it is."""
    if ctx.api_direct is None:
        env = api_env(ctx, relay=False) | {"AUTH_REVOCATION_NEAR_CACHE": "false"}
        api = ApiProcess(env, free_port(), ctx.cfg.workers, ctx.cores.server, "near-cache-off")
        api.start()
        ctx.api_direct = api
    return ctx.api_direct


def create_users(ctx: Context) -> None:
    """The account whose token /auth/me uses, kept out of the login rotation, and a first
    pool of login users (the register scenario adds its own)."""
    count = POOL_PER_CLIENT * ctx.cfg.hash_clients + 1
    bodies = [
        {"email": f"bench.{ctx.tag}.{n}@example.com", "password": ctx.password}
        for n in range(count)
    ]
    with httpx.Client(base_url=ctx.running_api().base_url, timeout=30) as client:
        for body in bodies:
            client.post("/auth/register", json=body).raise_for_status()
        logged_in = client.post("/auth/login", json=bodies[0])
        logged_in.raise_for_status()
    ctx.token = logged_in.json()["access_token"]
    ctx.users_file.write_text(json.dumps([body["email"] for body in bodies[1:]]))


def client_plan(
    ctx: Context, scenario: str, concurrency: int, api: ApiProcess | None = None, **extra: Any
) -> dict[str, Any]:
    api = api or ctx.running_api()
    return {
        "scenario": scenario,
        "host": "127.0.0.1",
        "port": api.port,
        "concurrency": concurrency,
        "warmup_s": ctx.cfg.warmup_s,
        "duration_s": ctx.cfg.duration_s,
        "token": ctx.token,
        "password": ctx.password,
        "users_file": str(ctx.users_file),
        "tag": f"{ctx.tag}.{scenario}",
        "probe_interval_ms": ctx.cfg.probe_interval_ms,
        **extra,
    }


def asyncio_scenario(ctx: Context, scenario: str, concurrency: int) -> list[ScenarioResult]:
    meter = Meter(ctx.running_api())
    raw = run_client(client_plan(ctx, scenario, concurrency), ctx.cores.load, meter)
    result = from_group(scenario, raw["groups"][scenario], concurrency, meter)
    result.extra["client_cpu_percent"] = raw["client_cpu_percent"]
    return [result]


def wrk_scenario(
    ctx: Context, name: str, path: str, token: str | None, api: ApiProcess | None = None
) -> list[ScenarioResult]:
    cfg = ctx.cfg
    return [
        run_wrk_scenario(
            name,
            api or ctx.running_api(),
            path,
            token,
            cfg.duration_s,
            cfg.warmup_s,
            cfg.connections,
            ctx.cores.load,
        )
    ]


def redis_per_me(
    ctx: Context, name: str = "redis_per_me", api: ApiProcess | None = None
) -> list[ScenarioResult]:
    """An exact number of /auth/me requests, and the commands Redis ran meanwhile."""
    api = api or ctx.running_api()
    meter = Meter(api, ctx.redis)
    plan = client_plan(ctx, "me", ctx.cfg.connections, api, requests=ctx.cfg.redis_requests)
    raw = run_client(plan, ctx.cores.load, meter)
    result = from_group(name, raw["groups"]["me"], ctx.cfg.connections, meter)
    total = sum(meter.commands.values())
    result.extra |= {
        "redis_commands": meter.commands,
        "commands_per_request": total / result.requests if result.requests else None,
    }
    return [result]


def logout(ctx: Context) -> list[ScenarioResult]:
    meter = Meter(ctx.running_api())
    sessions, clients = ctx.cfg.logout_sessions, ctx.cfg.hash_clients
    plan = client_plan(ctx, "logout", ctx.cfg.connections, sessions=sessions, login_clients=clients)
    raw = run_client(plan, ctx.cores.load, meter)
    result = from_group("logout", raw["groups"]["logout"], ctx.cfg.connections, meter)
    result.notes.append(f"{sessions} sessions opened by login first (not measured)")
    return [result]


def propagation(ctx: Context) -> list[ScenarioResult]:
    """Two more API processes, on a database of their own: the first one's relay must
    be the one that publishes the logouts, not a sweep of the main API's."""
    env = api_env(ctx, relay=True) | {"AUTH_MONGO_DB": f"{ctx.mongo_db}_propagation"}
    rounds = ctx.cfg.propagation_rounds
    return run_propagation(env, ctx.redis.url, ctx.password, ctx.tag, rounds)


def raw_hash(ctx: Context) -> list[ScenarioResult]:
    cfg = ctx.cfg
    env = api_env(ctx, relay=False)
    return [run_hash_rate(env, cfg.workers, cfg.duration_s, cfg.warmup_s, ctx.cores.server)]


def me_idle(ctx: Context) -> list[ScenarioResult]:
    meter = Meter(ctx.running_api())
    raw = run_client(client_plan(ctx, "me_idle", 1), ctx.cores.load, meter)
    return [from_group("me_idle", raw["groups"]["me"], 1, meter)]


def me_under_login(ctx: Context) -> list[ScenarioResult]:
    clients, meter = ctx.cfg.hash_clients, Meter(ctx.running_api())
    raw = run_client(client_plan(ctx, "me_under_login", clients), ctx.cores.load, meter)
    probe = from_group("me_under_login", raw["groups"]["me"], 1, None)
    probe.notes.append(f"while {clients} clients log in")
    login = from_group("login_with_probe", raw["groups"]["login"], clients, meter)
    login.notes.append("its CPU per request includes the probe's /auth/me requests")
    return [probe, login]


def login_events_off(ctx: Context) -> list[ScenarioResult]:
    stop_api(ctx)
    start_api(ctx, relay=False, label="relay-off")
    result = asyncio_scenario(ctx, "login", ctx.cfg.hash_clients)[0]
    result.name = "login_events_off"
    result.notes.append("AUTH_OUTBOX_RELAY=false: events still written to the outbox")
    return [result]


def scaling(ctx: Context) -> list[ScenarioResult]:
    return ScalingRun(ctx, api_env(ctx, relay=True)).run()


def scenario_table(ctx: Context) -> dict[str, Callable[[], list[ScenarioResult]]]:
    cfg = ctx.cfg
    return {
        "scaling": lambda: scaling(ctx),
        "baseline": lambda: wrk_scenario(ctx, "baseline", "/health/live", None),
        "me": lambda: wrk_scenario(ctx, "me", "/auth/me", ctx.token),
        "me_direct": lambda: wrk_scenario(ctx, "me_direct", "/auth/me", ctx.token, direct_api(ctx)),
        "redis_per_me": lambda: redis_per_me(ctx),
        "redis_per_me_direct": lambda: redis_per_me(ctx, "redis_per_me_direct", direct_api(ctx)),
        "logout": lambda: logout(ctx),
        "propagation": lambda: propagation(ctx),
        "register": lambda: asyncio_scenario(ctx, "register", cfg.hash_clients),
        "refresh": lambda: asyncio_scenario(ctx, "refresh", cfg.connections),
        "me_idle": lambda: me_idle(ctx),
        "me_under_login": lambda: me_under_login(ctx),
        "raw_hash": lambda: raw_hash(ctx),
        "login": lambda: asyncio_scenario(ctx, "login", cfg.hash_clients),
        "login_events_off": lambda: login_events_off(ctx),
    }

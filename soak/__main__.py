"""`python -m soak`: private servers, the API as SOAK_REPLICAS processes sharing them,
SOAK_CONCURRENCY virtual users for SOAK_SECONDS with Kafka stopped for a while in the
middle, then the checks, among them how many copies of each event Kafka received.
Prints a summary; the exit status is 1 on any violation. Traffic goes to 127.0.0.1 only,
and is bounded by time and by SOAK_MAX_REQUESTS."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import shutil
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from infra.stack_lib.api import REPO, PrivateServers
from soak.load import Ledger, Load, Pacer
from soak.report import print_summary
from soak.servers import SERVER_NAMES, ApiProcess
from soak.verify import Findings, verify, wait_for_drain

MAX_SECONDS, MAX_CONCURRENCY, MAX_RATE, MAX_REPLICAS = 3600, 200, 1000, 5


@dataclass(frozen=True)
class SoakConfig:
    seconds: float
    concurrency: int
    rate: float
    max_requests: int
    kafka_down_at: float
    kafka_down_for: float
    replicas: int = 1
    drain_seconds: float = 180


def parse_args(argv: list[str]) -> SoakConfig:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m soak", description=__doc__)
    parser.add_argument("--seconds", type=float, default=float(env("SOAK_SECONDS", "180")))
    parser.add_argument("--concurrency", type=int, default=int(env("SOAK_CONCURRENCY", "20")))
    parser.add_argument("--rate", type=float, default=float(env("SOAK_RATE", "25")))
    parser.add_argument("--max-requests", type=int, default=int(env("SOAK_MAX_REQUESTS", "500000")))
    parser.add_argument(
        "--replicas",
        type=int,
        default=int(env("SOAK_REPLICAS", "1")),
        help="API processes sharing the servers, each with its relay; requests go to each in turn",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.replicas <= MAX_REPLICAS:
        parser.error(f"--replicas in [1, {MAX_REPLICAS}]")
    if not (10 <= args.seconds <= MAX_SECONDS and 1 <= args.concurrency <= MAX_CONCURRENCY):
        parser.error(f"--seconds in [10, {MAX_SECONDS}], --concurrency in [1, {MAX_CONCURRENCY}]")
    if not 0 < args.rate <= MAX_RATE:
        parser.error(f"--rate in (0, {MAX_RATE}] requests per second")
    # Kafka is away from a third of the run to its half or more: long enough for a backlog.
    down_for = max(5.0, args.seconds / 5)
    return SoakConfig(
        args.seconds,
        args.concurrency,
        args.rate,
        args.max_requests,
        args.seconds / 3,
        down_for,
        args.replicas,
    )


def api_environment(stack: PrivateServers, tag: str) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("AUTH_")}
    return {
        **inherited,
        **stack.client_env(),
        "AUTH_ENV": "test",
        "AUTH_JWT_SECRET": secrets.token_urlsafe(48),
        "AUTH_MONGO_DB": f"soak_{tag}",
        "AUTH_REDIS_PREFIX": f"soak:{tag}:",
        "AUTH_KAFKA_TOPIC_PREFIX": f"soak{tag}.",
        # The soak is about what survives, not about hashing cost: cheap hashes, more traffic.
        "AUTH_ARGON2_MEMORY_KIB": "1024",
        "AUTH_ARGON2_TIME_COST": "1",
        # One client address makes all the traffic: its limits must not be what is measured.
        "AUTH_REGISTER_IP_LIMIT": "1000000000",
        "AUTH_REGISTER_GLOBAL_LIMIT": "1000000000",
        "AUTH_LOGIN_IP_LIMIT": "1000000000",
    }


def say(message: str) -> None:
    print(f"[soak] {message}", file=sys.stderr, flush=True)


async def restart_kafka(stack: PrivateServers, cfg: SoakConfig, ledger: Ledger) -> list[str]:
    await asyncio.sleep(cfg.kafka_down_at)
    say(f"t={ledger.elapsed():.0f}s stopping Kafka")
    ledger.kafka_stopped_at = datetime.now(UTC)
    await asyncio.to_thread(stack.stop, "kafka")
    stopped = ledger.elapsed()
    await asyncio.sleep(cfg.kafka_down_for)
    say(f"t={ledger.elapsed():.0f}s starting Kafka")
    await asyncio.to_thread(stack.start, "kafka")
    back = ledger.elapsed()
    ledger.kafka_back_at = datetime.now(UTC)
    say(f"t={back:.0f}s Kafka is back")
    return [f"Kafka stopped at t={stopped:.1f}s, serving again at t={back:.1f}s"]


async def run_load(
    apis: list[ApiProcess], stack: PrivateServers, cfg: SoakConfig
) -> tuple[Ledger, list[str]]:
    ledger = Ledger()
    limits = httpx.Limits(max_connections=cfg.concurrency)
    async with contextlib.AsyncExitStack() as clients:
        pool = [
            await clients.enter_async_context(
                httpx.AsyncClient(base_url=api.base_url, timeout=30, limits=limits)
            )
            for api in apis
        ]
        pacer = Pacer(cfg.rate)
        load = Load(pool, ledger, pacer, time.monotonic() + cfg.seconds, cfg.max_requests)
        kafka = asyncio.create_task(restart_kafka(stack, cfg, ledger))
        await asyncio.gather(*(load.virtual_user(seed) for seed in range(cfg.concurrency)))
        ledger.load_seconds = ledger.elapsed()
        timeline = await kafka  # still away at the deadline: the drain waits for it
    return ledger, timeline


async def soak(cfg: SoakConfig, state: Path) -> int:
    stack = PrivateServers(SERVER_NAMES, state / "stack")
    say(f"starting private Redis, MongoDB and Kafka under {state}")
    try:
        stack.start()
        # Only now are the ports settled: a start that failed retries on other ports.
        env = api_environment(stack, uuid.uuid4().hex[:10])
        apis = [ApiProcess(env, state / f"api-{index}.log") for index in range(cfg.replicas)]
        try:
            for api in apis:
                api.start()
            say(
                f"{cfg.concurrency} virtual users, {cfg.rate:g} requests/s,"
                f" for {cfg.seconds:.0f}s against {', '.join(a.base_url for a in apis)}"
            )
            ledger, timeline = await run_load(apis, stack, cfg)
            findings = await check(apis[0], env, ledger, cfg.drain_seconds)
        finally:
            for api in apis:
                api.stop()
    finally:
        stack.stop()  # every server, whatever started
    return print_summary(ledger, findings, timeline, cfg.replicas)


async def check(api: ApiProcess, env: dict[str, str], ledger: Ledger, drain: float) -> Findings:
    findings = Findings()
    async with httpx.AsyncClient(base_url=api.base_url, timeout=30) as client:
        try:
            findings.drained_after_seconds = await wait_for_drain(client, drain)
        except TimeoutError as exc:
            findings.violations.append(str(exc))
    await verify(ledger, env, findings)
    return findings


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(sys.argv[1:] if argv is None else argv)
    state = REPO / ".cache" / "soak" / time.strftime("%Y%m%d-%H%M%S")
    state.mkdir(parents=True)
    status = asyncio.run(soak(cfg, state))
    if status == 0:
        shutil.rmtree(state)  # nothing to look into; a failed run keeps logs and data
    else:
        say(f"logs and data kept under {state}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())

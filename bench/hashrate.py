"""The raw rate of the configured password hasher, without HTTP: `python -m bench.hashrate
--threads N --seconds S --warmup W`, with the API's AUTH_* environment. It verifies
through PasswordHasher exactly as a login does, N at a time, and prints `RESULT <json>`."""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import time
from dataclasses import asdict
from typing import Any

from auth_api.passwords.hasher import HashParameters, PasswordHasher
from auth_api.settings import Settings
from bench.stats import latency_summary


def configured_parameters() -> HashParameters:
    settings = Settings()
    return HashParameters(
        argon2_memory_kib=settings.argon2_memory_kib,
        argon2_time_cost=settings.argon2_time_cost,
        argon2_parallelism=settings.argon2_parallelism,
        bcrypt_rounds=settings.bcrypt_rounds,
    )


async def verify_for(
    hasher: PasswordHasher, password: str, stored: str, seconds: float, threads: int
) -> list[float]:
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []

    async def loop() -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            result = await hasher.verify(password, stored)
            if not result.valid:
                raise RuntimeError("the hasher rejected its own hash")
            latencies.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(loop() for _ in range(threads)))
    return latencies


async def measure(threads: int, seconds: float, warmup: float) -> dict[str, Any]:
    params = configured_parameters()
    hasher = PasswordHasher(params, concurrency=threads)
    try:
        password = secrets.token_urlsafe(12)
        stored = hasher.hash_sync(password)
        await verify_for(hasher, password, stored, warmup, threads)
        cpu, started = time.process_time(), time.perf_counter()
        latencies = await verify_for(hasher, password, stored, seconds, threads)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        hasher.close()
    return {
        "hashes": len(latencies),
        "elapsed_s": elapsed,
        "cpu_ms_per_hash": 1000 * cpu / len(latencies) if latencies else None,
        "cpu_percent": 100 * cpu / elapsed,
        "parameters": asdict(params),
        **latency_summary(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hashrate")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    args = parser.parse_args()
    result = asyncio.run(measure(args.threads, args.seconds, args.warmup))
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

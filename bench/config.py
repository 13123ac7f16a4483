"""Knobs of a run, from BENCH_* environment variables, overridden by command-line flags."""

from __future__ import annotations

import argparse
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

# In run order. raw_hash, login and login_events_off run last and back to back: their
# ratios compare runs, and the machine's background load drifts over minutes. scaling
# runs first, on servers and API processes of its own. me_direct and redis_per_me_direct
# ask a second API process, whose near cache of the denylist is off, right after their
# near-cached twins: the two side by side.
SCENARIOS = (
    "scaling", "baseline", "me", "me_direct", "redis_per_me", "redis_per_me_direct", "logout",
    "propagation", "register", "refresh", "me_idle", "me_under_login", "raw_hash", "login",
    "login_events_off",
)  # fmt: skip
# Scenarios that start every server and API they use: the shared API is not needed.
SELF_CONTAINED = frozenset({"scaling"})
RESULTS = Path(__file__).resolve().parents[1] / ".cache" / "bench" / "results.json"


@dataclass
class BenchConfig:
    workers: int = 1
    duration_s: float = 10.0
    warmup_s: float = 2.0
    connections: int = 16  # wrk and the cheap asyncio flows
    hash_clients_per_worker: int = 2  # login/register: enough to keep the hasher busy
    probe_interval_ms: float = 10.0
    redis_requests: int = 2000
    logout_sessions: int = 300  # each costs a login (one hash) before the measured logouts
    propagation_rounds: int = 40  # logouts whose propagation is timed, each after a login
    port: int = 0  # 0: any free port
    scaling_sizes: list[int] = field(default_factory=lambda: [1_000, 10_000, 100_000])
    scaling_rounds: int = 4  # each flow at each size once per round; even: balanced order
    scaling_seconds: float = 5.0  # each flow's measured phase, per size and round
    scaling_warmup_s: float = 1.0
    scaling_idle_s: float = 20.0  # the mongo server's CPU sampled while the API idles
    scaling_settle_s: float = 5.0  # after the API's start, before the idle sample
    only: list[str] = field(default_factory=lambda: list(SCENARIOS))
    profile: bool = False
    output: Path = RESULTS

    @property
    def hash_clients(self) -> int:
        return self.hash_clients_per_worker * self.workers


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


def parse_args(argv: list[str]) -> BenchConfig:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--workers", type=int, default=int(_env_number("BENCH_WORKERS", 1)))
    parser.add_argument("--duration", type=float, default=_env_number("BENCH_DURATION", 10))
    parser.add_argument("--warmup", type=float, default=_env_number("BENCH_WARMUP", 2))
    parser.add_argument(
        "--connections", type=int, default=int(_env_number("BENCH_CONNECTIONS", 16))
    )
    parser.add_argument(
        "--hash-clients", type=int, default=int(_env_number("BENCH_HASH_CLIENTS", 2)),
        help="concurrent login/register clients per API worker",
    )  # fmt: skip
    parser.add_argument("--port", type=int, default=int(_env_number("BENCH_PORT", 0)))
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--only", nargs="+", choices=SCENARIOS, help="run these scenarios")
    parser.add_argument(
        "--profile", action="store_true",
        help="run the API under pyinstrument (slower; for finding where time goes)",
    )  # fmt: skip
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--scaling-sizes", type=int, nargs="+", metavar="N", default=[1_000, 10_000, 100_000],
        help="users seeded for the scaling scenario (each 2 to 1,000,000)",
    )  # fmt: skip
    parser.add_argument(
        "--scaling-rounds", type=int, default=4, help="rounds of the scaling scenario (1 to 9)"
    )
    args = parser.parse_args(argv)
    sizes_ok = all(2 <= n <= 1_000_000 for n in args.scaling_sizes)
    if not sizes_ok or not 1 <= args.scaling_rounds <= 9:
        parser.error("--scaling-sizes each in [2, 1000000], --scaling-rounds in [1, 9]")
    config = BenchConfig(
        workers=args.workers, duration_s=args.duration, warmup_s=args.warmup,
        connections=args.connections, hash_clients_per_worker=args.hash_clients,
        port=args.port, profile=args.profile, output=args.output,
        only=list(args.only or SCENARIOS), scaling_sizes=sorted(set(args.scaling_sizes)),
        scaling_rounds=args.scaling_rounds,
    )  # fmt: skip
    if args.quick:
        config.duration_s, config.warmup_s = 2.0, 0.5
        config.redis_requests, config.logout_sessions = 200, 40
        config.propagation_rounds = 10
        config.scaling_rounds, config.scaling_seconds, config.scaling_warmup_s = 1, 2.0, 0.5
        config.scaling_idle_s, config.scaling_settle_s = 5.0, 3.0
    return config


@dataclass(frozen=True)
class CorePlan:
    """Which cores the server and the load generator run on, as taskset prefixes."""

    server: list[str]
    load: list[str]
    description: str


def plan_cores(workers: int) -> CorePlan:
    cores = sorted(os.sched_getaffinity(0))
    if shutil.which("taskset") is None or len(cores) < workers + 1:
        why = "taskset missing" if shutil.which("taskset") is None else "too few cores"
        return CorePlan([], [], f"unpinned ({why}: {len(cores)} cores, {workers} workers)")
    server = ",".join(map(str, cores[:workers]))
    load = ",".join(map(str, cores[workers:]))
    return CorePlan(
        ["taskset", "-c", server],
        ["taskset", "-c", load],
        f"server on core(s) {server}, load generator on core(s) {load}",
    )

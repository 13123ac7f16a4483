"""The conditions of a run, recorded next to its figures: numbers mean little without."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from bench.config import BenchConfig, CorePlan

HASH_SETTINGS = (
    "AUTH_ARGON2_MEMORY_KIB", "AUTH_ARGON2_TIME_COST", "AUTH_ARGON2_PARALLELISM",
    "AUTH_HASH_CONCURRENCY", "AUTH_HASH_NICENESS",
)  # fmt: skip


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or "unknown"


def git_commit(repo: Path) -> str:
    result = subprocess.run(  # noqa: S603 - read-only query of this checkout
        ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],  # noqa: S607
        capture_output=True, text=True, check=False, timeout=10,
    )  # fmt: skip
    dirty = subprocess.run(  # noqa: S603
        ["git", "-C", str(repo), "status", "--porcelain"],  # noqa: S607
        capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip
    commit = result.stdout.strip() or "unknown"
    return commit + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def describe(cfg: BenchConfig, cores: CorePlan, repo: Path) -> dict[str, Any]:
    return {
        "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "commit": git_commit(repo),
        "python": platform.python_version(),
        "cpu": cpu_model(),
        "cores_available": len(os.sched_getaffinity(0)),
        "pinning": cores.description,
        "api_workers": cfg.workers,
        "duration_s": cfg.duration_s,
        "warmup_s": cfg.warmup_s,
        "wrk_and_cheap_flow_connections": cfg.connections,
        "login_register_clients": cfg.hash_clients,
        "probe_interval_ms": cfg.probe_interval_ms,
        "redis_count_requests": cfg.redis_requests,
        "logout_sessions": cfg.logout_sessions,
        "hash_settings_from_environment": {
            k: v for k, v in os.environ.items() if k in HASH_SETTINGS
        }
        or "none (production defaults)",
        # The API sizes its hasher pool from the cores it may run on, so taskset counts.
        "api_hasher_threads": os.environ.get("AUTH_HASH_CONCURRENCY")
        or (cfg.workers if cores.server else len(os.sched_getaffinity(0))),
        "profiled": cfg.profile,
        "load_average_before": load_average(),
    }

"""Fixed requests through wrk (Debian's package), pinned to the load cores."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

REPORT_SCRIPT = Path(__file__).with_name("wrk_report.lua")
WRK_ERRORS = ("errors_connect", "errors_read", "errors_write", "errors_status", "errors_timeout")


class WrkMissingError(RuntimeError):
    pass


def ensure_wrk() -> str:
    """wrk's path; as root with apt-get, installs Debian's package when it is missing,
    the way infra/stack provisions redis-server."""
    wrk = shutil.which("wrk")
    if wrk is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "wrk"],  # noqa: S607
            check=False, stdout=subprocess.DEVNULL, timeout=600,
        )  # fmt: skip
        wrk = shutil.which("wrk")
    if wrk is None:
        raise WrkMissingError("wrk is not on PATH: apt-get install -y wrk")
    return wrk


def wrk_command(
    url: str, seconds: float, connections: int, token: str | None, pin: list[str]
) -> list[str]:
    wrk = ensure_wrk()
    headers = ["-H", f"Authorization: Bearer {token}"] if token else []
    return [
        *pin, wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
        "--timeout", "5s", "-s", str(REPORT_SCRIPT), *headers, url,
    ]  # fmt: skip


def parse_wrk_output(stdout: str) -> dict[str, Any]:
    """wrk's summary from the JSON line the report script prints, latencies in ms."""
    for line in stdout.splitlines():
        if line.startswith("WRK_JSON "):
            raw: dict[str, int] = json.loads(line.removeprefix("WRK_JSON "))
            return {
                "requests": raw["requests"],
                "elapsed_s": raw["duration_us"] / 1e6,
                "errors": sum(raw[key] for key in WRK_ERRORS),
                "error_kinds": {key: raw[key] for key in WRK_ERRORS if raw[key]},
                "p50_ms": raw["p50_us"] / 1000,
                "p95_ms": raw["p95_us"] / 1000,
                "p99_ms": raw["p99_us"] / 1000,
                "max_ms": raw["max_us"] / 1000,
            }
    raise RuntimeError(f"wrk printed no summary:\n{stdout[-2000:]}")


def run_wrk(
    url: str, seconds: float, connections: int, token: str | None, pin: list[str]
) -> dict[str, Any]:
    command = wrk_command(url, seconds, connections, token, pin)
    completed = subprocess.run(  # noqa: S603 - wrk with arguments built above
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr[-2000:]}")
    return parse_wrk_output(completed.stdout)

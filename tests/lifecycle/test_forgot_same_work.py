"""Forgot-password does the same work for a known and an unknown address. Compared by
the calls it makes (structurally), not by timing one request against another under a
shared machine's load; the timings are recorded as a figure (.cache/forgot-timing.json)."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.lifecycle.conftest import Life
from tests.support.api import unique_email
from tests.support.servers import REPO

FIGURE = REPO / ".cache" / "forgot-timing.json"
SAMPLES = 30


class CallLog:
    """Wraps the async methods of objects, logging `<role>.<method>` per call."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def watch(self, role: str, target: Any, names: list[str]) -> None:
        for name in names:
            original = getattr(target, name)

            def wrapper(*args: Any, _n: str = name, _o: Any = original, **kwargs: Any) -> Any:
                self.calls.append(f"{role}.{_n}")
                return _o(*args, **kwargs)

            setattr(target, name, wrapper)


def watched(life: Life) -> CallLog:
    log = CallLog()
    backends = life.container.backends
    store_methods = [
        "issue_by_email", "find_by_email", "find_by_id", "account", "change_account",
        "create", "record_login",
    ]  # fmt: skip
    log.watch("store", backends.accounts, store_methods)
    log.watch("limiter", backends.limiter, ["hit", "peek", "reset"])
    log.watch("hasher", life.container.hasher, ["hash", "verify"])
    return log


async def calls_of(life: Life, log: CallLog, email: str) -> tuple[list[str], int, bytes]:
    log.calls.clear()
    answer = await life.client.post("/auth/password/forgot", json={"email": email})
    return list(log.calls), answer.status_code, answer.content


async def test_known_and_unknown_addresses_take_the_same_path(
    start_life: Callable[..., Any], mode: str
) -> None:
    async with start_life(account_mail_limit=1000, account_action_ip_limit=1000) as life:
        account = await life.account()
        log = watched(life)
        known = await calls_of(life, log, account.email)
        unknown = await calls_of(life, log, unique_email("nobody"))
        assert known == unknown
        assert known[0] == ["limiter.hit", "store.issue_by_email"]
        await life.mail(account.email, "password_reset")
        record_timings(mode, await timings(life, account.email), FIGURE)


async def timings(life: Life, known_email: str) -> dict[str, float]:
    samples: dict[str, list[float]] = {"known": [], "unknown": []}
    for i in range(SAMPLES):
        for label, email in (("known", known_email), ("unknown", unique_email(f"t{i}"))):
            started = time.perf_counter()
            await life.client.post("/auth/password/forgot", json={"email": email})
            samples[label].append((time.perf_counter() - started) * 1000)
    return {label: statistics.median(values) for label, values in samples.items()}


def record_timings(mode: str, medians: dict[str, float], path: Path) -> None:
    """Medians in milliseconds, per mode, kept for the README's figure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    figures[mode] = {**medians, "samples": SAMPLES, "at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    path.write_text(json.dumps(figures, indent=2) + "\n")

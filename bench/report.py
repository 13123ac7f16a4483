"""Results, ratios, targets and the printed table. Pure: no I/O besides returning text."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ScenarioResult:
    name: str
    tool: str  # wrk, asyncio or threads
    concurrency: int
    requests: int
    elapsed_s: float
    errors: int
    p50_ms: float = math.nan
    p95_ms: float = math.nan
    p99_ms: float = math.nan
    cpu_ms_per_request: float | None = None  # the API's process tree
    server_cpu_percent: float | None = None  # of one core, over the measured phase
    db_cpu_ms_per_request: float | None = None  # the mongo server's process
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.elapsed_s if self.elapsed_s > 0 else math.nan

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "requests_per_s": self.rps}


@dataclass(frozen=True)
class Target:
    name: str
    ratio: str  # key in the ratios mapping
    check: Callable[[float], bool]
    wanted: str  # how the target reads in the table
    by_cpu: str | None = None  # key of the same ratio computed from CPU time per request

    def verdict(self, ratios: Mapping[str, float | None]) -> str:
        value = ratios.get(self.ratio)
        if value is None or math.isnan(value):
            return "n/a"
        return "PASS" if self.check(value) else "MISS"


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    if math.isnan(numerator) or math.isnan(denominator):
        return None
    return numerator / denominator


def compute_ratios(results: Mapping[str, ScenarioResult]) -> dict[str, float | None]:
    def rps(name: str) -> float | None:
        return results[name].rps if name in results else None

    def p(name: str, attr: str) -> float | None:
        return getattr(results[name], attr) if name in results else None

    def cpu(name: str) -> float | None:
        return results[name].cpu_ms_per_request if name in results else None

    def commands_per_request(name: str) -> float | None:
        return results[name].extra.get("commands_per_request") if name in results else None

    errors = sum(r.errors for r in results.values())
    return {
        "me_over_baseline": _ratio(rps("me"), rps("baseline")),
        "me_direct_over_baseline": _ratio(rps("me_direct"), rps("baseline")),
        "me_over_me_direct": _ratio(rps("me"), rps("me_direct")),
        "login_over_raw_hash": _ratio(rps("login"), rps("raw_hash")),
        "me_p99_login_load_over_idle": _ratio(
            p("me_under_login", "p99_ms"), p("me_idle", "p99_ms")
        ),
        "login_events_on_over_off": _ratio(rps("login"), rps("login_events_off")),
        "redis_commands_per_auth_request": commands_per_request("redis_per_me"),
        "redis_commands_per_auth_request_direct": commands_per_request("redis_per_me_direct"),
        "login_p50_ms": p("login", "p50_ms"),
        # The same ratios from CPU time per request instead of throughput: what they
        # would be if the server had its core to itself, which a shared machine denies.
        "me_over_baseline_by_cpu": _ratio(cpu("baseline"), cpu("me")),
        "me_direct_over_baseline_by_cpu": _ratio(cpu("baseline"), cpu("me_direct")),
        "login_over_raw_hash_by_cpu": _ratio(cpu("raw_hash"), cpu("login")),
        "login_events_on_over_off_by_cpu": _ratio(cpu("login_events_off"), cpu("login")),
        "errors": float(errors),
        # Logout through one API process until the token is refused elsewhere.
        "propagation_api_p99_ms": p("propagation_api_b", "p99_ms"),
        "propagation_quiz_redis_p99_ms": p("propagation_quiz_redis", "p99_ms"),
        "propagation_quiz_near_cache_p99_ms": p("propagation_quiz_near_cache", "p99_ms"),
        "propagation_quiz_events_p99_ms": p("propagation_quiz_events", "p99_ms"),
    }


TARGETS = (
    Target(
        "me / baseline",
        "me_over_baseline",
        lambda v: v >= 0.6,
        ">= 0.6",
        "me_over_baseline_by_cpu",
    ),
    Target(
        "login / raw hash",
        "login_over_raw_hash",
        lambda v: v >= 0.9,
        ">= 0.9",
        "login_over_raw_hash_by_cpu",
    ),
    Target(
        "me p99 under login load / idle",
        "me_p99_login_load_over_idle",
        lambda v: v <= 2.0,
        "<= 2.0",
    ),
    Target(
        # In steady state, with the near cache: the token was checked before.
        "Redis commands per authenticated request",
        "redis_commands_per_auth_request",
        lambda v: v < 0.005,
        "== 0",
    ),
    Target(
        # Without it, one MGET each: what shows the count itself counts.
        "Redis commands per request, near cache off",
        "redis_commands_per_auth_request_direct",
        lambda v: abs(v - 1.0) < 0.005,
        "== 1",
    ),
    Target(
        "login events on / off",
        "login_events_on_over_off",
        lambda v: v >= 0.95,
        ">= 0.95",
        "login_events_on_over_off_by_cpu",
    ),
    Target("login p50 (ms)", "login_p50_ms", lambda v: v < 100, "< 100"),
    Target("errors (non-2xx, all scenarios)", "errors", lambda v: v == 0, "== 0"),
    Target(
        "logout seen by the other API process, p99 (ms)",
        "propagation_api_p99_ms",
        lambda v: v <= 50,
        "<= 50",
    ),
    Target(
        "logout seen by a quiz app, Redis mode, p99 (ms)",
        "propagation_quiz_redis_p99_ms",
        lambda v: v <= 50,
        "<= 50",
    ),
    Target(
        "logout seen by a quiz app, near-cache mode, p99 (ms)",
        "propagation_quiz_near_cache_p99_ms",
        lambda v: v <= 50,
        "<= 50",
    ),
    Target(
        "logout seen by a quiz app, events mode, p99 (ms)",
        "propagation_quiz_events_p99_ms",
        lambda v: v <= 1000,
        "<= 1000",
    ),
)


def target_rows(ratios: Mapping[str, float | None]) -> list[dict[str, Any]]:
    return [
        {
            "target": t.name,
            "value": ratios.get(t.ratio),
            "by_cpu": ratios.get(t.by_cpu) if t.by_cpu else None,
            "wanted": t.wanted,
            "verdict": t.verdict(ratios),
        }
        for t in TARGETS
    ]


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:,.2f}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Fixed-width text table: first column left-aligned, the others right-aligned."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        first = values[0].ljust(widths[0])
        rest = (v.rjust(w) for v, w in zip(values[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in cells)])


SCENARIO_HEADERS = (
    "scenario", "tool", "conc", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors",
    "API CPU ms/req", "API CPU %", "DB CPU ms/req",
)  # fmt: skip


def scenario_table(results: Sequence[ScenarioResult]) -> str:
    rows = [
        (
            r.name,
            r.tool,
            r.concurrency,
            r.rps,
            r.p50_ms,
            r.p95_ms,
            r.p99_ms,
            r.errors,
            r.cpu_ms_per_request,
            r.server_cpu_percent,
            r.db_cpu_ms_per_request,
        )
        for r in results
    ]
    return format_table(SCENARIO_HEADERS, rows)


def target_table(ratios: Mapping[str, float | None]) -> str:
    rows = [
        (r["target"], r["value"], r["by_cpu"], r["wanted"], r["verdict"])
        for r in target_rows(ratios)
    ]
    return format_table(("target", "measured", "by CPU time", "wanted", "verdict"), rows)


NEAR_CACHE_HEADERS = (
    "near cache", "me req/s", "me / baseline", "by CPU time", "API CPU ms/req",
    "Redis commands/req",
)  # fmt: skip


def near_cache_table(
    results: Mapping[str, ScenarioResult], ratios: Mapping[str, float | None]
) -> str | None:
    """/auth/me with the near cache of the denylist on and off, side by side."""
    if "me" not in results or "me_direct" not in results:
        return None
    rows = [
        (
            label,
            results[me].rps,
            ratios.get(f"{me}_over_baseline"),
            ratios.get(f"{me}_over_baseline_by_cpu"),
            results[me].cpu_ms_per_request,
            ratios.get(commands),
        )
        for label, me, commands in (
            ("on", "me", "redis_commands_per_auth_request"),
            ("off", "me_direct", "redis_commands_per_auth_request_direct"),
        )
    ]
    return format_table(NEAR_CACHE_HEADERS, rows)

"""The scaling scenario's arithmetic and its table: rounds merged into one result per
flow and size, the largest size against the smallest, and the verdicts. Pure."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bench.report import ScenarioResult, format_table

# The figures of one size, in the table's order: (key, column heading).
COLUMNS = (
    ("login_p50_ms", "login p50 ms"),
    ("login_p99_ms", "login p99 ms"),
    ("me_p50_ms", "me p50 ms"),
    ("refresh_p50_ms", "refresh p50 ms"),
    ("register_p50_ms", "register p50 ms"),
    # CPU time per request moves much less than latency on a shared machine: the API's
    # per login, and the mongo server's per request of each flow that reads and writes.
    ("login_api_cpu_ms", "API CPU ms/login"),
    ("login_db_cpu_ms", "DB CPU ms/login"),
    ("refresh_db_cpu_ms", "DB CPU ms/refresh"),
    ("register_db_cpu_ms", "DB CPU ms/register"),
    ("idle_db_cpu_percent", "DB idle CPU %"),
)
# Sampled once per size, after the rounds, rather than in every round.
ONCE_PER_SIZE = frozenset({"idle_db_cpu_percent"})


def _median(values: Sequence[float | None]) -> float:
    present = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(present) if present else math.nan


def _per_request(values: Sequence[float | None], requests: Sequence[int]) -> float | None:
    """A per-request figure over several runs, each run weighted by its requests."""
    pairs = [(v, n) for v, n in zip(values, requests, strict=True) if v is not None and n]
    total = sum(n for _, n in pairs)
    return sum(v * n for v, n in pairs) / total if total else None


def merge_rounds(name: str, rounds: Sequence[ScenarioResult]) -> ScenarioResult:
    """One result from the rounds of one flow at one size: counts add up, percentiles
    are the median of the rounds' (the rounds ran minutes apart on a machine whose load
    drifts; the median of three drops one outlier), CPU per request is weighted."""
    if not rounds:
        raise ValueError(f"{name}: no rounds to merge")
    requests = [r.requests for r in rounds]
    return ScenarioResult(
        name=name,
        tool=rounds[0].tool,
        concurrency=rounds[0].concurrency,
        requests=sum(requests),
        elapsed_s=sum(r.elapsed_s for r in rounds),
        errors=sum(r.errors for r in rounds),
        p50_ms=_median([r.p50_ms for r in rounds]),
        p95_ms=_median([r.p95_ms for r in rounds]),
        p99_ms=_median([r.p99_ms for r in rounds]),
        cpu_ms_per_request=_per_request([r.cpu_ms_per_request for r in rounds], requests),
        server_cpu_percent=_median([r.server_cpu_percent for r in rounds]),
        db_cpu_ms_per_request=_per_request([r.db_cpu_ms_per_request for r in rounds], requests),
        notes=[f"median of {len(rounds)} rounds' percentiles"],
        extra={
            "rounds_p50_ms": [r.p50_ms for r in rounds],
            "rounds_db_cpu_ms_per_request": [r.db_cpu_ms_per_request for r in rounds],
        },
    )


def size_row(flows: Mapping[str, ScenarioResult], idle_cpu_percent: float | None) -> dict[str, Any]:
    """The figures of one size from its merged flows (keys: login, me, refresh, register)."""
    return {
        "login_p50_ms": flows["login"].p50_ms,
        "login_p99_ms": flows["login"].p99_ms,
        "me_p50_ms": flows["me"].p50_ms,
        "refresh_p50_ms": flows["refresh"].p50_ms,
        "register_p50_ms": flows["register"].p50_ms,
        "login_api_cpu_ms": flows["login"].cpu_ms_per_request,
        "login_db_cpu_ms": flows["login"].db_cpu_ms_per_request,
        "refresh_db_cpu_ms": flows["refresh"].db_cpu_ms_per_request,
        "register_db_cpu_ms": flows["register"].db_cpu_ms_per_request,
        "idle_db_cpu_percent": idle_cpu_percent,
    }


def cpu_percent(cpu_seconds: float, wall_seconds: float) -> float:
    """CPU time over a wall-clock interval, in percent of one core."""
    if wall_seconds <= 0:
        raise ValueError("the interval must be longer than zero")
    return 100 * cpu_seconds / wall_seconds


def largest_over_smallest(rows: Mapping[int, Mapping[str, Any]]) -> dict[str, float | None]:
    """Each figure at the largest size divided by the same at the smallest."""
    if len(rows) < 2:
        return {key: None for key, _ in COLUMNS}
    small, large = rows[min(rows)], rows[max(rows)]
    ratios: dict[str, float | None] = {}
    for key, _ in COLUMNS:
        low, high = small.get(key), large.get(key)
        if low is None or high is None or not low > 0 or math.isnan(high):
            ratios[key] = None
        else:
            ratios[key] = high / low
    return ratios


def paired_ratios(
    rounds: Sequence[Mapping[int, Mapping[str, Any]]], rows: Mapping[int, Mapping[str, Any]]
) -> dict[str, float | None]:
    """Largest over smallest size within each round, then the median over the rounds.
    Within a round the sizes of one flow ran seconds apart, so the drift of a shared
    machine's load between rounds cancels out. Figures sampled once per size are
    divided directly, from `rows`."""
    per_round = [largest_over_smallest(sizes) for sizes in rounds]
    direct = largest_over_smallest(rows)
    ratios: dict[str, float | None] = {}
    for key, _ in COLUMNS:
        if key in ONCE_PER_SIZE:
            ratios[key] = direct[key]
            continue
        values = [value for r in per_round if (value := r[key]) is not None]
        ratios[key] = statistics.median(values) if values else None
    return ratios


@dataclass(frozen=True)
class ScalingTarget:
    name: str
    wanted: str
    check: Callable[[float], bool]
    value: Callable[[Mapping[int, Mapping[str, Any]], Mapping[str, float | None]], float | None]


def _at_largest(key: str) -> Callable[[Mapping[int, Mapping[str, Any]], Any], float | None]:
    def value(rows: Mapping[int, Mapping[str, Any]], _: object) -> float | None:
        return rows[max(rows)].get(key) if rows else None

    return value


def _ratio_of(key: str) -> Callable[[Any, Mapping[str, float | None]], float | None]:
    def value(_: object, ratios: Mapping[str, float | None]) -> float | None:
        return ratios.get(key)

    return value


SCALING_TARGETS = (
    ScalingTarget("login p50, largest / smallest N", "<= 1.2", lambda v: v <= 1.2,
                  _ratio_of("login_p50_ms")),
    ScalingTarget("refresh p50, largest / smallest N", "<= 1.2", lambda v: v <= 1.2,
                  _ratio_of("refresh_p50_ms")),
    ScalingTarget("register p50, largest / smallest N", "<= 1.2", lambda v: v <= 1.2,
                  _ratio_of("register_p50_ms")),
    ScalingTarget("login p50 at the largest N (ms)", "< 100", lambda v: v < 100,
                  _at_largest("login_p50_ms")),
    ScalingTarget("DB idle CPU at the largest N (% of a core)", "< 5", lambda v: v < 5,
                  _at_largest("idle_db_cpu_percent")),
)  # fmt: skip


def scaling_targets(
    rows: Mapping[int, Mapping[str, Any]], ratios: Mapping[str, float | None]
) -> list[dict[str, Any]]:
    found = []
    for target in SCALING_TARGETS:
        value = target.value(rows, ratios)
        if value is None or math.isnan(value):
            verdict = "n/a"
        else:
            verdict = "PASS" if target.check(value) else "MISS"
        found.append(
            {"target": target.name, "value": value, "wanted": target.wanted, "verdict": verdict}
        )
    return found


def scaling_table(rows: Mapping[int, Mapping[str, Any]], ratios: Mapping[str, float | None]) -> str:
    headers = ("users", *(heading for _, heading in COLUMNS))
    lines: list[list[object]] = [
        [f"{size:,}", *(rows[size].get(key) for key, _ in COLUMNS)] for size in sorted(rows)
    ]
    if len(rows) >= 2:
        lines.append([f"{max(rows):,} / {min(rows):,}", *(ratios[key] for key, _ in COLUMNS)])
    return format_table(headers, lines)


def targets_table(found: Sequence[Mapping[str, Any]]) -> str:
    rows = [(t["target"], t["value"], t["wanted"], t["verdict"]) for t in found]
    return format_table(("scaling target", "measured", "wanted", "verdict"), rows)

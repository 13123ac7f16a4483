"""The benchmark's report: ratios, target verdicts, the printed table, wrk's summary."""

from __future__ import annotations

import math

import pytest

from bench.report import (
    ScenarioResult,
    compute_ratios,
    format_table,
    near_cache_table,
    target_rows,
)
from bench.wrk import parse_wrk_output


def result(name: str, requests: int, seconds: float = 10.0, **fields: float) -> ScenarioResult:
    return ScenarioResult(
        name=name, tool="test", concurrency=1, requests=requests, elapsed_s=seconds, errors=0,
        **fields,  # type: ignore[arg-type]
    )  # fmt: skip


def full_run() -> dict[str, ScenarioResult]:
    results = {
        "baseline": result("baseline", 40_000),
        "me": result("me", 24_000),
        "raw_hash": result("raw_hash", 500),
        "login": result("login", 460, p50_ms=80.0),
        "login_events_off": result("login_events_off", 470),
        "me_idle": result("me_idle", 1000, p99_ms=4.0),
        "me_under_login": result("me_under_login", 1000, p99_ms=6.0),
        "redis_per_me": result("redis_per_me", 2000),
        "propagation_api_b": result("propagation_api_b", 40, p99_ms=12.0),
        "propagation_quiz_redis": result("propagation_quiz_redis", 40, p99_ms=20.0),
        "propagation_quiz_near_cache": result("propagation_quiz_near_cache", 40, p99_ms=8.0),
        "propagation_quiz_events": result("propagation_quiz_events", 40, p99_ms=300.0),
        "me_direct": result("me_direct", 16_000),
        "redis_per_me_direct": result("redis_per_me_direct", 2000),
    }
    results["redis_per_me"].extra["commands_per_request"] = 0.0
    results["redis_per_me_direct"].extra["commands_per_request"] = 1.0
    return results


def test_ratios_compare_the_right_scenarios() -> None:
    ratios = compute_ratios(full_run())
    assert ratios["me_over_baseline"] == pytest.approx(0.6)
    assert ratios["login_over_raw_hash"] == pytest.approx(0.92)
    assert ratios["me_p99_login_load_over_idle"] == pytest.approx(1.5)
    assert ratios["login_events_on_over_off"] == pytest.approx(460 / 470)
    assert ratios["redis_commands_per_auth_request"] == 0.0
    assert ratios["redis_commands_per_auth_request_direct"] == 1.0
    assert ratios["me_direct_over_baseline"] == pytest.approx(0.4)
    assert ratios["me_over_me_direct"] == pytest.approx(1.5)
    assert ratios["errors"] == 0


def test_every_target_passes_on_a_good_run() -> None:
    assert {row["verdict"] for row in target_rows(compute_ratios(full_run()))} == {"PASS"}


def test_a_slow_me_and_any_error_are_misses() -> None:
    results = full_run()
    results["me"] = result("me", 8_000)
    results["login"].errors = 3
    verdicts = {row["target"]: row["verdict"] for row in target_rows(compute_ratios(results))}
    assert verdicts["me / baseline"] == "MISS"
    assert verdicts["errors (non-2xx, all scenarios)"] == "MISS"
    assert verdicts["login / raw hash"] == "PASS"


def test_a_redis_command_per_request_with_the_near_cache_is_a_miss() -> None:
    results = full_run()
    results["redis_per_me"].extra["commands_per_request"] = 1.0
    results["redis_per_me_direct"].extra["commands_per_request"] = 2.0
    verdicts = {row["target"]: row["verdict"] for row in target_rows(compute_ratios(results))}
    assert verdicts["Redis commands per authenticated request"] == "MISS"
    assert verdicts["Redis commands per request, near cache off"] == "MISS"


def test_the_near_cache_table_shows_both_sides_or_nothing() -> None:
    results = full_run()
    table = near_cache_table(results, compute_ratios(results))
    assert table is not None
    on, off = table.splitlines()[2:]
    assert on.split()[:4] == ["on", "2,400.0", "0.60", "-"]
    assert off.split()[:4] == ["off", "1,600.0", "0.40", "-"]
    del results["me_direct"]
    assert near_cache_table(results, compute_ratios(results)) is None


def test_a_skipped_scenario_gives_no_verdict() -> None:
    results = full_run()
    del results["login_events_off"]
    ratios = compute_ratios(results)
    assert ratios["login_events_on_over_off"] is None
    verdicts = {row["target"]: row["verdict"] for row in target_rows(ratios)}
    assert verdicts["login events on / off"] == "n/a"


def test_propagation_targets_read_each_p99_and_wait_for_missing_modes() -> None:
    results = full_run()
    results["propagation_quiz_events"].p99_ms = 1500.0
    del results["propagation_quiz_redis"]
    verdicts = {row["target"]: row["verdict"] for row in target_rows(compute_ratios(results))}
    assert verdicts["logout seen by the other API process, p99 (ms)"] == "PASS"
    assert verdicts["logout seen by a quiz app, Redis mode, p99 (ms)"] == "n/a"
    assert verdicts["logout seen by a quiz app, near-cache mode, p99 (ms)"] == "PASS"
    assert verdicts["logout seen by a quiz app, events mode, p99 (ms)"] == "MISS"


def test_table_aligns_columns_and_shows_missing_values_as_dashes() -> None:
    table = format_table(
        ("scenario", "req/s", "p99 ms"),
        [("baseline", 12345.678, 3.14159), ("login", 45.0, math.nan), ("x", None, 120)],
    )
    lines = table.splitlines()
    assert lines[0] == "scenario     req/s  p99 ms"
    assert lines[1] == "--------  --------  ------"
    assert lines[2] == "baseline  12,345.7    3.14"
    assert lines[3] == "login         45.0       -"
    assert lines[4] == "x                -     120"


def test_wrk_summary_is_read_from_the_report_line() -> None:
    stdout = (
        "Running 10s test @ http://127.0.0.1:8000/health/live\n"
        'WRK_JSON {"requests":5000,"duration_us":10000000,"errors_connect":0,'
        '"errors_read":1,"errors_write":0,"errors_status":4,"errors_timeout":0,'
        '"p50_us":1500,"p95_us":4000,"p99_us":9000,"max_us":20000}\n'
    )
    summary = parse_wrk_output(stdout)
    assert summary["requests"] == 5000
    assert summary["elapsed_s"] == 10.0
    assert summary["errors"] == 5
    assert summary["error_kinds"] == {"errors_read": 1, "errors_status": 4}
    assert summary["p99_ms"] == 9.0


def test_wrk_output_without_a_summary_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="no summary"):
        parse_wrk_output("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_ratios_by_cpu_time_compare_cost_per_request() -> None:
    results = full_run()
    results["baseline"].cpu_ms_per_request = 0.1
    results["me"].cpu_ms_per_request = 0.4
    results["raw_hash"].cpu_ms_per_request = 18.0
    results["login"].cpu_ms_per_request = 20.0
    results["login_events_off"].cpu_ms_per_request = 19.0
    ratios = compute_ratios(results)
    assert ratios["me_over_baseline_by_cpu"] == pytest.approx(0.25)
    assert ratios["login_over_raw_hash_by_cpu"] == pytest.approx(0.9)
    assert ratios["login_events_on_over_off_by_cpu"] == pytest.approx(0.95)

"""The scaling scenario's pure parts: merging rounds, the ratios, the verdicts, the
table, the seeded documents, and its command-line knobs."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from auth_api.accounts.emails import email_key
from auth_api.model.events import EventType, PendingEvent
from auth_api.store.mongo import from_document, to_document
from bench.config import parse_args
from bench.report import ScenarioResult
from bench.scaling_report import (
    cpu_percent,
    largest_over_smallest,
    merge_rounds,
    paired_ratios,
    scaling_table,
    scaling_targets,
    size_row,
)
from bench.seed import seed_document, seed_email, template_document

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def run(
    p50: float, requests: int = 100, db_cpu: float | None = 2.0, **fields: float
) -> ScenarioResult:
    return ScenarioResult(
        name="login", tool="asyncio", concurrency=2, requests=requests, elapsed_s=5.0,
        errors=0, p50_ms=p50, p95_ms=2 * p50, p99_ms=3 * p50, db_cpu_ms_per_request=db_cpu,
        **fields,  # type: ignore[arg-type]
    )  # fmt: skip


def row(login_p50: float, idle: float | None = 0.5, **overrides: float) -> dict[str, object]:
    figures: dict[str, object] = {
        "login_p50_ms": login_p50,
        "login_p99_ms": 2 * login_p50,
        "me_p50_ms": 1.0,
        "refresh_p50_ms": 4.0,
        "register_p50_ms": 40.0,
        "login_api_cpu_ms": 25.0,
        "login_db_cpu_ms": 0.5,
        "refresh_db_cpu_ms": 0.4,
        "register_db_cpu_ms": 0.6,
        "idle_db_cpu_percent": idle,
    }
    return figures | overrides


def test_merged_rounds_add_counts_and_take_the_median_percentiles() -> None:
    merged = merge_rounds("scaling_login_1000", [run(30.0), run(90.0), run(40.0)])
    assert merged.name == "scaling_login_1000"
    assert (merged.requests, merged.elapsed_s, merged.errors) == (300, 15.0, 0)
    assert merged.p50_ms == 40.0  # the slow round is dropped, not averaged in
    assert merged.p99_ms == 120.0
    assert merged.extra["rounds_p50_ms"] == [30.0, 90.0, 40.0]


def test_merged_cpu_per_request_is_weighted_by_each_rounds_requests() -> None:
    merged = merge_rounds("x", [run(30.0, requests=100, db_cpu=1.0), run(30.0, 300, 3.0)])
    assert merged.db_cpu_ms_per_request == pytest.approx(2.5)
    assert merged.cpu_ms_per_request is None  # no round measured it


def test_merging_no_rounds_is_an_error() -> None:
    with pytest.raises(ValueError, match="no rounds"):
        merge_rounds("x", [])


def test_size_row_reads_each_flow_of_its_size() -> None:
    flows = {
        "login": run(30.0),
        "me": run(1.5),
        "refresh": run(5.0),
        "register": run(45.0, db_cpu=3.0),
    }
    figures = size_row(flows, idle_cpu_percent=0.7)
    assert figures["login_p50_ms"] == 30.0
    assert figures["login_p99_ms"] == 90.0
    assert (figures["me_p50_ms"], figures["refresh_p50_ms"]) == (1.5, 5.0)
    assert figures["register_p50_ms"] == 45.0
    assert (figures["login_db_cpu_ms"], figures["register_db_cpu_ms"]) == (2.0, 3.0)
    assert figures["login_api_cpu_ms"] is None  # not measured in these runs
    assert figures["idle_db_cpu_percent"] == 0.7


def test_ratios_divide_the_largest_size_by_the_smallest() -> None:
    rows = {100_000: row(36.0, idle=1.0), 1_000: row(30.0, idle=0.5), 10_000: row(99.0)}
    ratios = largest_over_smallest(rows)
    assert ratios["login_p50_ms"] == pytest.approx(1.2)
    assert ratios["idle_db_cpu_percent"] == pytest.approx(2.0)
    assert ratios["me_p50_ms"] == pytest.approx(1.0)


def test_a_ratio_is_missing_where_a_figure_is_missing_or_zero() -> None:
    ratios = largest_over_smallest({1_000: row(0.0, idle=None), 100_000: row(30.0)})
    assert ratios["login_p50_ms"] is None
    assert ratios["idle_db_cpu_percent"] is None
    assert all(v is None for v in largest_over_smallest({1_000: row(30.0)}).values())


def test_paired_ratios_compare_sizes_within_a_round_so_drift_between_rounds_cancels() -> None:
    quiet = {1_000: row(30.0, idle=None), 100_000: row(33.0, idle=None)}
    busy = {1_000: row(300.0, idle=None), 100_000: row(330.0, idle=None)}
    slow_start = {1_000: row(300.0, idle=None), 100_000: row(36.0, idle=None)}
    merged = {1_000: row(300.0, idle=0.2), 100_000: row(36.0, idle=0.3)}
    ratios = paired_ratios([quiet, busy, slow_start], merged)
    assert ratios["login_p50_ms"] == pytest.approx(1.1)  # not 36 / 300
    assert ratios["idle_db_cpu_percent"] == pytest.approx(1.5)  # sampled once: direct


def test_verdicts_follow_the_scaling_targets() -> None:
    rows = {1_000: row(30.0), 100_000: row(37.0, idle=0.4, refresh_p50_ms=4.4)}
    verdicts = {
        t["target"]: t["verdict"] for t in scaling_targets(rows, largest_over_smallest(rows))
    }
    assert verdicts == {
        "login p50, largest / smallest N": "MISS",  # 37 / 30 = 1.23
        "refresh p50, largest / smallest N": "PASS",  # 1.1
        "register p50, largest / smallest N": "PASS",
        "login p50 at the largest N (ms)": "PASS",
        "DB idle CPU at the largest N (% of a core)": "PASS",
    }


def test_an_unmeasured_target_reads_not_applicable() -> None:
    rows = {1_000: row(30.0, idle=None)}
    found = scaling_targets(rows, largest_over_smallest(rows))
    by_name = {t["target"]: t for t in found}
    assert by_name["login p50, largest / smallest N"]["verdict"] == "n/a"
    assert by_name["DB idle CPU at the largest N (% of a core)"]["verdict"] == "n/a"
    assert by_name["login p50 at the largest N (ms)"]["verdict"] == "PASS"


def test_the_table_has_a_line_per_size_and_one_of_ratios() -> None:
    rows = {1_000: row(30.0), 100_000: row(33.0, idle=None)}
    lines = scaling_table(rows, largest_over_smallest(rows)).splitlines()
    assert lines[0].split()[:3] == ["users", "login", "p50"]
    assert [line.split()[0] for line in lines[2:]] == ["1,000", "100,000", "100,000"]
    assert lines[4].startswith("100,000 / 1,000")
    assert "1.10" in lines[4]
    assert lines[3].endswith("-")  # no idle sample at 100,000: no figure, no ratio


def test_cpu_percent_is_of_one_core() -> None:
    assert cpu_percent(0.5, 20.0) == pytest.approx(2.5)
    with pytest.raises(ValueError, match="longer than zero"):
        cpu_percent(1.0, 0.0)


def test_seeded_documents_have_the_stores_shape_and_read_back_as_users() -> None:
    template = template_document("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", NOW)
    stored = to_document(
        from_document(template), PendingEvent.create(EventType.USER_REGISTERED, "u", NOW, {})
    )
    assert template.keys() == stored.keys()
    first, second = seed_document(template, 1), seed_document(template, 2)
    assert first["_id"] != second["_id"]
    assert (first["v"], first["outbox"], first["sessions"]) == (0, [], {})
    assert first["password_hash"] == second["password_hash"] == template["password_hash"]
    user = from_document(first)
    assert user.email == seed_email(1)
    assert user.email_normalized == email_key(seed_email(1))  # what a login looks up
    assert user.display_name == "scale.1"
    assert not math.isnan(user.created_at.timestamp())


def test_scaling_knobs_from_the_command_line() -> None:
    cfg = parse_args(
        ["--only", "scaling", "--scaling-sizes", "5000", "1000", "--scaling-rounds", "1"]
    )
    assert (cfg.only, cfg.scaling_sizes, cfg.scaling_rounds) == (["scaling"], [1000, 5000], 1)
    assert parse_args([]).scaling_sizes == [1_000, 10_000, 100_000]
    quick = parse_args(["--quick"])
    assert (quick.scaling_rounds, quick.scaling_seconds) == (1, 2.0)


@pytest.mark.parametrize("bad", [["--scaling-sizes", "1"], ["--scaling-rounds", "0"]])
def test_scaling_knobs_out_of_range_are_refused(bad: list[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(bad)

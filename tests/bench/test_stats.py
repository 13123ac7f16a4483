"""The benchmark's arithmetic: percentiles, command counts, and process CPU from /proc."""

from __future__ import annotations

import math

import pytest

from bench.load import TRANSPORT_FAILURE, Recorder
from bench.stats import (
    command_calls,
    command_delta,
    cpu_ticks_of_stat,
    descendants,
    latency_summary,
    parent_of_stat,
    percentile,
)


def test_percentile_interpolates_between_closest_ranks() -> None:
    values = [10.0, 20.0, 30.0, 40.0]
    assert percentile(values, 0) == 10.0
    assert percentile(values, 100) == 40.0
    assert percentile(values, 50) == pytest.approx(25.0)
    assert percentile(values, 90) == pytest.approx(37.0)


def test_percentile_does_not_depend_on_input_order() -> None:
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50) == 3.0


def test_percentile_of_one_value_is_that_value() -> None:
    assert percentile([7.5], 99) == 7.5


def test_percentile_of_nothing_is_nan_and_range_is_checked() -> None:
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0], 101)


def test_latency_summary_reports_the_tail() -> None:
    latencies = [1.0] * 98 + [50.0, 100.0]
    summary = latency_summary(latencies)
    assert summary["p50_ms"] == 1.0
    assert summary["p95_ms"] == 1.0
    assert summary["p99_ms"] == pytest.approx(50.5)
    assert summary["max_ms"] == 100.0


def test_command_calls_reads_parsed_commandstats() -> None:
    info = {
        "cmdstat_mget": {"calls": 12, "usec": 40, "usec_per_call": 3.3},
        "cmdstat_client|setname": {"calls": 1, "usec": 1},
        "errorstat_ERR": {"count": 2},
    }
    assert command_calls(info) == {"mget": 12, "client|setname": 1}


def test_command_delta_counts_new_commands_and_skips_our_own() -> None:
    before = {"mget": 10, "info": 3, "set": 4}
    after = {"mget": 110, "info": 5, "set": 4, "evalsha": 2, "ping": 1}
    assert command_delta(before, after) == {"mget": 100, "evalsha": 2}


def test_command_delta_refuses_counters_that_went_backwards() -> None:
    with pytest.raises(ValueError, match="reset"):
        command_delta({"mget": 10}, {"mget": 3})


def test_cpu_ticks_survive_spaces_and_parentheses_in_the_command_name() -> None:
    fields = ["S", "41", "41", "41", "0", "-1", "4194560", "10", "0", "0", "0"]
    stat = "4242 (odd ) name) " + " ".join([*fields, "150", "25", "3", "4", "20"])
    assert cpu_ticks_of_stat(stat) == 175
    assert parent_of_stat(stat) == 41


def test_descendants_walks_the_whole_tree_and_nothing_else() -> None:
    parents = {1: 0, 10: 1, 11: 10, 12: 10, 13: 12, 20: 1, 30: 99}
    assert descendants(10, parents) == {10, 11, 12, 13}
    assert descendants(13, parents) == {13}


def test_recorder_counts_every_non_2xx_and_transport_failure_as_an_error() -> None:
    recorder = Recorder()
    recorder.latencies_ms += [1.0, 2.0, 3.0, 4.0, 5.0]
    recorder.statuses.update({200: 2, 204: 1, 401: 1, TRANSPORT_FAILURE: 1})
    summary = recorder.summary(elapsed_s=2.0)
    assert summary["requests"] == 5
    assert summary["errors"] == 2
    assert summary["statuses"] == {"0": 1, "200": 2, "204": 1, "401": 1}
    assert summary["p50_ms"] == 3.0

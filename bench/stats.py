"""Pure arithmetic of the benchmark: percentiles, Redis command counts, process CPU."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

# Our own connection's commands (INFO, PING, ...) must not count against the API.
BENCH_OWN_COMMANDS = frozenset({"info", "ping", "config|resetstat", "client|setname", "hello"})


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between closest ranks."""
    if not values:
        return math.nan
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0..100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(latencies_ms: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": percentile(latencies_ms, 50),
        "p95_ms": percentile(latencies_ms, 95),
        "p99_ms": percentile(latencies_ms, 99),
        "max_ms": max(latencies_ms, default=math.nan),
    }


def command_calls(info: Mapping[str, Mapping[str, object]]) -> dict[str, int]:
    """Calls per command from a parsed `INFO commandstats` (keys `cmdstat_<name>`)."""
    calls: dict[str, int] = {}
    for key, stats in info.items():
        if key.startswith("cmdstat_"):
            calls[key.removeprefix("cmdstat_")] = int(str(stats["calls"]))
    return calls


def command_delta(
    before: Mapping[str, int],
    after: Mapping[str, int],
    ignore: Iterable[str] = BENCH_OWN_COMMANDS,
) -> dict[str, int]:
    """Commands run between two snapshots, without ours; a reset between them is an error."""
    skipped = set(ignore)
    delta: dict[str, int] = {}
    for name, count in after.items():
        if name in skipped:
            continue
        diff = count - before.get(name, 0)
        if diff < 0:
            raise ValueError(f"commandstats went backwards for {name}: was the Redis reset?")
        if diff:
            delta[name] = diff
    return delta


def cpu_ticks_of_stat(stat_line: str) -> int:
    """utime + stime of one /proc/<pid>/stat line. The command name may hold spaces and
    parentheses, so fields are counted from the last ')'."""
    fields = stat_line[stat_line.rindex(")") + 2 :].split()
    # After the name: state is field 3 of proc(5); utime and stime are fields 14 and 15.
    return int(fields[11]) + int(fields[12])


def parent_of_stat(stat_line: str) -> int:
    return int(stat_line[stat_line.rindex(")") + 2 :].split()[1])


def descendants(root: int, parents: Mapping[int, int]) -> set[int]:
    """root and every process below it, given each process's parent."""
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    found, pending = {root}, [root]
    while pending:
        for child in children.get(pending.pop(), []):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found

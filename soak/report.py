"""The soak's summary: what was sent, what came back, what was checked, and the verdict."""

from __future__ import annotations

import statistics
from collections import defaultdict

from soak.load import Ledger
from soak.verify import Findings


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def operation_lines(ledger: Ledger) -> list[str]:
    statuses: dict[str, dict[int, int]] = defaultdict(dict)
    for (operation, status), count in sorted(ledger.counts.items()):
        statuses[operation][status] = count
    lines = []
    for operation, by_status in statuses.items():
        times = ledger.latencies.get(operation, [])
        median = statistics.median(times) * 1000 if times else 0.0
        p99 = percentile(times, 0.99) * 1000
        lines.append(
            f"  {operation:<22} {sum(by_status.values()):>7}  statuses {by_status}"
            f"  p50 {median:.1f} ms  p99 {p99:.1f} ms"
        )
    return lines


def server_errors(ledger: Ledger) -> int:
    return sum(count for (_, status), count in ledger.counts.items() if status >= 500)


def copies_line(findings: Findings) -> str:
    by_copies = ", ".join(
        f"{copies}: {ids}" for copies, ids in sorted(findings.copies_per_event.items())
    )
    return (
        f"copies per event id (copies: ids) over every event topic: {{{by_copies}}};"
        f" duplicated in the steady state: {findings.duplicated_steady},"
        f" around the Kafka restart: {findings.duplicated_near_outage}"
    )


def print_summary(
    ledger: Ledger, findings: Findings, timeline: list[str], replicas: int = 1
) -> int:
    violations = ledger.violations + findings.violations
    if errors := server_errors(ledger):
        # Kafka is on no request's path: there is no 503 window to allow for.
        violations.append(f"{errors} answers were 5xx")
    lines = [
        "== soak summary ==",
        f"API processes: {replicas}, each with its outbox relay",
        f"load: {ledger.requests} requests in {ledger.load_seconds:.0f}s"
        f" ({ledger.requests / max(ledger.load_seconds, 1):.0f}/s)",
        *operation_lines(ledger),
        *timeline,
        f"outbox drained {findings.drained_after_seconds:.1f}s after the load stopped",
        f"registrations answered 201: {len(ledger.registered)};"
        f" user documents: {findings.users_stored};"
        f" user.registered events: {findings.registered_events}",
        # A timeout after the write: a 503 does not mean nothing was stored.
        f"users stored although their registration got no 201:"
        f" {findings.users_stored - len(ledger.registered)}",
        f"logins answered 200: {len(ledger.login_sessions)};"
        f" user.logged_in events: {findings.logged_in_events}",
        f"records redelivered with an id already seen (at-least-once): {findings.redelivered}",
        copies_line(findings),
        f"5xx answers: {server_errors(ledger)}",
        f"violations: {len(violations)}",
        *(f"  {violation}" for violation in violations[:30]),
        "RESULT: " + ("FAIL" if violations else "PASS"),
    ]
    print("\n".join(lines), flush=True)
    return 1 if violations else 0

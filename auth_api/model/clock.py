"""The one source of time for services and the relay. Injected, so that time rules
(session expiry, rotation grace, logout-all cut-offs) are tested by moving a clock,
not by sleeping."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


def utc_now() -> datetime:
    # Millisecond precision: what MongoDB stores, so a round trip compares equal.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware UTC wall time, to the millisecond."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; for intervals, never for timestamps."""


class SystemClock:
    def now(self) -> datetime:
        return utc_now()

    def monotonic(self) -> float:
        return time.monotonic()


SYSTEM_CLOCK = SystemClock()

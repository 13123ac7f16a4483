"""A clock that moves only when a test says so: time rules are tested in microseconds,
not by sleeping through them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# A fixed start makes every run read the same times; far from the real time, so that
# a rule still reading the real time shows up as a failing test.
DEFAULT_START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


class ManualClock:
    """Implements auth_api.model.clock.Clock. Both readings move together, by `advance`
    only."""

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        if start.tzinfo is None:
            raise ValueError("the clock's wall time must be timezone-aware")
        self._now = start.replace(microsecond=start.microsecond // 1000 * 1000)
        self._monotonic = 0.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time does not go backwards")
        # Whole milliseconds, the precision the Clock protocol promises; both readings
        # move by the same amount.
        step = timedelta(milliseconds=round(seconds * 1000))
        self._now += step
        self._monotonic += step.total_seconds()

    async def sleep(self, seconds: float) -> None:
        """A stand-in for asyncio.sleep that a waiting service uses: the wait passes at
        once, and the clock shows it passed."""
        self.advance(seconds)

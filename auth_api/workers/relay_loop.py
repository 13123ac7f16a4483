"""The loop under both relays (events to Kafka, mails to SMTP): rounds until stopped,
woken early when a request records something, and paused with a doubling backoff when
a round fails, so that a server that is down is not hammered."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod


class RelayLoop(ABC):
    """A subclass says what one round is (`_next_round`), which failures are expected
    (a server down: logged as a pause) and what a failure resets (`_after_failure`)."""

    expected_failures: tuple[type[Exception], ...] = ()
    first_backoff_seconds = 0.5

    def __init__(self, name: str, max_backoff_seconds: float, log: logging.Logger) -> None:
        self._name = name
        self._max_backoff = max_backoff_seconds
        self._log = log
        self._wake = asyncio.Event()
        self._hinted: set[str] = set()
        self._stopping = False
        # True from a failed round to the next good one: a server refuses.
        self.paused = False

    def notify(self, user_id: str) -> None:
        """A request recorded something for this user: see to it now, by reading that
        one document, rather than at the next sweep."""
        self._hinted.add(user_id)
        self._wake.set()

    def stop(self) -> None:
        """Finish the round in progress, then return from run()."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        backoff = 0.0
        while not self._stopping:
            try:
                await self._next_round()
                backoff, self.paused = 0.0, False
            except self.expected_failures as exc:
                backoff = self._failed(backoff)
                self._log.warning("%s: paused for %.1fs: %s", self._name, backoff, exc)
                await self._sleep(backoff)
            except Exception:
                # A bug or a bad document must never end the work for good: log it
                # loudly and try again; what waits stays stored meanwhile.
                backoff = self._failed(backoff)
                self._log.exception(
                    "%s: unexpected failure, retrying in %.1fs", self._name, backoff
                )
                await self._sleep(backoff)

    def _failed(self, previous: float) -> float:
        self.paused = True
        self._after_failure()
        return min(self._max_backoff, max(self.first_backoff_seconds, previous * 2))

    @abstractmethod
    async def _next_round(self) -> None: ...

    @abstractmethod
    def _after_failure(self) -> None:
        """What a failed round leaves to be done again."""

    async def _sleep(self, seconds: float) -> None:
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        self._wake.clear()

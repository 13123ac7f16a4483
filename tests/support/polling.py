"""Waiting, bounded, for something to become true."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], seconds: float, what: str
) -> None:
    """Poll `check` until it holds; fail after `seconds` saying what was awaited."""
    deadline = time.monotonic() + seconds
    while not await _holds(check):
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {seconds:.0f}s waiting for {what}")
        await asyncio.sleep(0.1)


async def _holds(check: Callable[[], bool | Awaitable[bool]]) -> bool:
    result = check()
    return bool(await result) if inspect.isawaitable(result) else bool(result)

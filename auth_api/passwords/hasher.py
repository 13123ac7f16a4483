"""Password hashing off the event loop, with a bound on the hashes in flight."""

from __future__ import annotations

import asyncio
import logging
import math
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from passlib.context import CryptContext

from auth_api.passwords.cpu_quota import cpu_quota

# bcrypt reads only 72 bytes and bcrypt 5 raises beyond that; we never truncate silently.
BCRYPT_MAX_BYTES = 72

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HashParameters:
    argon2_memory_kib: int = 19456
    argon2_time_cost: int = 2
    argon2_parallelism: int = 1
    bcrypt_rounds: int = 12


@dataclass(frozen=True)
class VerifyResult:
    valid: bool
    # A replacement hash when the stored one uses an older scheme or weaker parameters.
    new_hash: str | None = None


def build_context(params: HashParameters) -> CryptContext:
    return CryptContext(
        schemes=["argon2", "bcrypt"],
        default="argon2",
        # "auto" deprecates every scheme but the default, so bcrypt hashes get upgraded.
        deprecated=["auto"],
        argon2__type="ID",
        argon2__memory_cost=params.argon2_memory_kib,
        argon2__rounds=params.argon2_time_cost,
        argon2__parallelism=params.argon2_parallelism,
        bcrypt__rounds=params.bcrypt_rounds,
    )


def usable_cpus(read_quota: Callable[[], float | None] = cpu_quota) -> int:
    """The CPUs this process may use: those it may run on (fewer than the machine's when
    pinned or confined by a cpuset), and no more than its cgroup's CPU quota, rounded
    up (a container's CPU limit)."""
    pinned = hasattr(os, "sched_getaffinity")
    cpus = len(os.sched_getaffinity(0)) if pinned else (os.cpu_count() or 1)
    quota = read_quota()
    return cpus if quota is None else max(1, min(cpus, math.ceil(quota)))


def hashing_pool(workers: int, niceness: int) -> ThreadPoolExecutor:
    """Threads that run at `niceness` above the process's own priority, so that when
    logins saturate the CPU the event loop still gets it first for the cheap requests."""
    return ThreadPoolExecutor(
        max_workers=workers,
        thread_name_prefix="hasher",
        initializer=lower_thread_priority,
        initargs=(niceness,),
    )


def lower_thread_priority(niceness: int) -> None:
    # On Linux a thread has its own nice value; elsewhere this call would renice the
    # whole process, so it is skipped there.
    if niceness <= 0 or sys.platform != "linux":
        return
    thread = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(current + niceness, 19))
    except OSError as exc:  # a sandbox may forbid it; hashing still works
        log.warning("hasher threads keep normal priority: %s", exc)


class PasswordHasher:
    """Hashes and verifies in a dedicated thread pool: argon2 releases the GIL there."""

    def __init__(self, params: HashParameters, concurrency: int = 0, niceness: int = 0) -> None:
        self._context = build_context(params)
        workers = concurrency or usable_cpus()
        log.info("password hashing: %d in flight at most", workers)
        # The pool size is the bound on hashes in flight; the rest wait in its queue.
        self._pool = hashing_pool(workers, niceness)
        # Verified against when the email is unknown, so both paths cost one hash.
        self._dummy_hash = self._context.hash(os.urandom(16).hex())

    async def hash(self, password: str) -> str:
        return await self._run(self._context.hash, password)

    async def verify(self, password: str, stored_hash: str | None) -> VerifyResult:
        if stored_hash is None:
            await self._run(self._context.verify, password, self._dummy_hash)
            return VerifyResult(valid=False)
        return await self._run(self._verify_sync, password, stored_hash)

    def hash_sync(self, password: str) -> str:
        hashed: str = self._context.hash(password)
        return hashed

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _verify_sync(self, password: str, stored_hash: str) -> VerifyResult:
        if self._context.identify(stored_hash, required=False) is None:
            # No scheme of ours made this (an emptied or damaged hash): it matches no
            # password, and it costs what a real verification costs.
            self._context.verify(password, self._dummy_hash)
            return VerifyResult(valid=False)
        if self._is_bcrypt(stored_hash) and len(password.encode()) > BCRYPT_MAX_BYTES:
            # The stored hash only ever saw 72 bytes; a longer password cannot be the original.
            self._context.verify(password[:8], self._dummy_hash)
            return VerifyResult(valid=False)
        valid, new_hash = self._context.verify_and_update(password, stored_hash)
        return VerifyResult(valid=valid, new_hash=new_hash)

    def _is_bcrypt(self, stored_hash: str) -> bool:
        scheme: str | None = self._context.identify(stored_hash)
        return scheme == "bcrypt"

    async def _run(self, func: Callable[..., T], *args: str) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, func, *args)

from __future__ import annotations

import os
import sys
import threading

import pytest
from passlib.context import CryptContext

from auth_api.passwords.hasher import HashParameters, PasswordHasher, hashing_pool, usable_cpus
from auth_api.passwords.policy import password_problems

FAST = HashParameters(argon2_memory_kib=64, argon2_time_cost=1, bcrypt_rounds=4)


@pytest.fixture
def hasher() -> PasswordHasher:
    return PasswordHasher(FAST, concurrency=2)


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("short", "at least 8"),
        ("x" * 129, "at most 128"),
        ("Password123", "too common"),
        ("my-alice.smith-rocks", "email"),
    ],
)
def test_policy_rejects_with_a_clear_message(password: str, expected: str) -> None:
    problems = password_problems(password, "Alice.Smith@example.com")
    assert any(expected in p for p in problems), problems


def test_policy_counts_code_points_not_bytes() -> None:
    assert password_problems("ñandú🦆ok", "x@example.com") == []  # 8 code points, 14 bytes
    assert password_problems("a" * 64, "x@example.com") == []
    assert password_problems("日本語のパス", "x@example.com") != []  # 6 code points


def test_policy_has_no_composition_rules() -> None:
    assert password_problems("all lowercase words here", "x@example.com") == []


async def test_hash_is_argon2id_with_configured_parameters() -> None:
    hasher = PasswordHasher(HashParameters(), concurrency=1)
    hashed = await hasher.hash("correct horse battery")
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


async def test_verify_accepts_right_and_rejects_wrong(hasher: PasswordHasher) -> None:
    hashed = await hasher.hash("correct horse battery")
    assert (await hasher.verify("correct horse battery", hashed)).valid
    assert not (await hasher.verify("correct horse batterY", hashed)).valid
    assert not (await hasher.verify("anything", None)).valid


async def test_bcrypt_hashes_verify_and_are_upgraded_to_argon2(hasher: PasswordHasher) -> None:
    legacy = CryptContext(schemes=["bcrypt"], bcrypt__rounds=4).hash("legacy password")
    result = await hasher.verify("legacy password", legacy)
    assert result.valid
    assert result.new_hash is not None
    assert result.new_hash.startswith("$argon2id$")


async def test_weaker_argon2_parameters_are_upgraded(hasher: PasswordHasher) -> None:
    weak = PasswordHasher(HashParameters(argon2_memory_kib=32, argon2_time_cost=1))
    result = await hasher.verify("some password", await weak.hash("some password"))
    assert result.valid
    assert result.new_hash is not None
    assert "m=64,t=1" in result.new_hash


async def test_current_hashes_are_not_rehashed(hasher: PasswordHasher) -> None:
    result = await hasher.verify("some password", await hasher.hash("some password"))
    assert result.valid
    assert result.new_hash is None


async def test_long_password_against_bcrypt_is_rejected_not_truncated(
    hasher: PasswordHasher,
) -> None:
    prefix = "p" * 72
    legacy = CryptContext(schemes=["bcrypt"], bcrypt__rounds=4).hash(prefix)
    # bcrypt would accept prefix + anything if the input were truncated to 72 bytes.
    assert not (await hasher.verify(prefix + "suffix", legacy)).valid
    assert (await hasher.verify(prefix, legacy)).valid


async def test_long_passwords_hash_fully_with_argon2(hasher: PasswordHasher) -> None:
    long_password = "é" * 128  # 256 bytes
    hashed = await hasher.hash(long_password)
    assert (await hasher.verify(long_password, hashed)).valid
    assert not (await hasher.verify(long_password[:-1] + "e", hashed)).valid


def thread_niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread nice values are Linux's")
def test_hashing_threads_yield_the_cpu_to_the_event_loop() -> None:
    with hashing_pool(workers=1, niceness=5) as pool:
        assert pool.submit(thread_niceness).result() == min(thread_niceness() + 5, 19)
    assert thread_niceness() == os.getpriority(os.PRIO_PROCESS, 0), "only the pool's threads"


def test_hashing_threads_keep_the_process_priority_when_asked() -> None:
    with hashing_pool(workers=1, niceness=0) as pool:
        assert pool.submit(thread_niceness).result() == thread_niceness()


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs CPU affinity")
def test_one_hash_in_flight_per_cpu_the_process_may_use() -> None:
    allowed = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(allowed)})
        assert usable_cpus() == 1
    finally:
        os.sched_setaffinity(0, allowed)
    assert usable_cpus() == len(allowed)

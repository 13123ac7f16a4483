"""Guessing one account's password from many addresses is slowed down, account-wide,
and never refused; its owner always gets in. The waits are recorded by a fake sleep,
not measured on the wall clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from auth_api.accounts.profile_cache import ProfileCache
from auth_api.accounts.service import AccountService, LoginAttempt, Registration, Slowdown
from auth_api.container import build_container, rate_limits
from auth_api.errors import InvalidCredentials, RateLimited
from auth_api.sessions.service import TokenPair
from tests.conftest import isolated_settings
from tests.support.api import PASSWORD, unique_email


@dataclass
class RecordedSleep:
    waits: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)

    def take(self) -> list[float]:
        taken, self.waits = self.waits, []
        return taken


@dataclass
class Accounts:
    service: AccountService
    sleep: RecordedSleep


@pytest.fixture
async def accounts() -> AsyncIterator[Accounts]:
    settings = isolated_settings(
        login_delay_after_failures=3,
        login_delay_step_seconds=2.0,
        login_delay_max_seconds=5.0,
        login_account_ip_limit=3,
    )
    container = await build_container(settings)
    sleep = RecordedSleep()
    service = AccountService(
        container.backends.users,
        container.hasher,
        container.services.sessions,
        container.backends.limiter,
        rate_limits(settings),
        on_event_recorded=lambda _user_id: None,
        profiles=ProfileCache(0),
        strength=container.strength,
        sleep=sleep,
    )
    await container.start()
    try:
        yield Accounts(service, sleep)
    finally:
        await container.close()


WRONG = "not the password"


async def guess(accounts: Accounts, email: str, ip: str, password: str = WRONG) -> TokenPair:
    return await accounts.service.login(LoginAttempt(email, password, ip))


async def test_guesses_from_many_addresses_wait_longer_and_longer(accounts: Accounts) -> None:
    email = unique_email()
    await accounts.service.register(Registration(email, PASSWORD, None), "192.0.2.1")
    for n in range(8):  # a fresh address each time: no per-address limit is reached
        with pytest.raises(InvalidCredentials):
            await guess(accounts, email, f"198.51.100.{n}")
    # Three free attempts, then 2 s more per attempt, up to 5 s.
    assert accounts.sleep.take() == [2.0, 4.0, 5.0, 5.0, 5.0]


async def test_the_owner_gets_in_and_a_success_resets_the_count(accounts: Accounts) -> None:
    email = unique_email()
    await accounts.service.register(Registration(email, PASSWORD, None), "192.0.2.1")
    for n in range(6):
        with pytest.raises(InvalidCredentials):
            await guess(accounts, email, f"198.51.100.{n}")
    accounts.sleep.take()
    pair = await guess(accounts, email, "203.0.113.50", PASSWORD)
    assert pair.refresh_token
    assert accounts.sleep.take() == [5.0]  # slowed like anyone, at most the cap, never refused
    for n in range(3):
        with pytest.raises(InvalidCredentials):
            await guess(accounts, email, f"198.51.100.{n}")
    assert accounts.sleep.take() == []  # the owner's success restarted the count


async def test_one_address_is_refused_for_that_account_only(accounts: Accounts) -> None:
    victim, other = unique_email(), unique_email()
    for email in (victim, other):
        await accounts.service.register(Registration(email, PASSWORD, None), "192.0.2.1")
    for _ in range(3):
        with pytest.raises(InvalidCredentials):
            await guess(accounts, victim, "198.51.100.7")
    with pytest.raises(RateLimited):
        await guess(accounts, victim, "198.51.100.7", PASSWORD)  # even the right password
    assert (await guess(accounts, victim, "203.0.113.50", PASSWORD)).refresh_token
    assert (await guess(accounts, other, "198.51.100.7", PASSWORD)).refresh_token


async def test_an_ipv6_host_rotating_within_its_64_is_one_address(accounts: Accounts) -> None:
    email = unique_email()
    await accounts.service.register(Registration(email, PASSWORD, None), "192.0.2.1")
    for n in range(3):
        with pytest.raises(InvalidCredentials):
            await guess(accounts, email, f"2001:db8:5:6::{n + 1:x}")
    with pytest.raises(RateLimited):
        await guess(accounts, email, "2001:db8:5:6:ffff:1:2:3")
    with pytest.raises(InvalidCredentials):
        await guess(accounts, email, "2001:db8:5:7::1")  # another /64


def test_the_wait_is_capped_and_starts_after_the_free_attempts() -> None:
    slowdown = Slowdown(after_failures=5, step_seconds=1.0, max_seconds=10.0)
    assert [slowdown.wait_seconds(n) for n in (1, 5, 6, 7, 15, 16, 100)] == [
        0.0,
        0.0,
        1.0,
        2.0,
        10.0,
        10.0,
        10.0,
    ]

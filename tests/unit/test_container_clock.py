"""The container hands its one clock to everything that keeps time."""

from __future__ import annotations

import jwt
import pytest

from auth_api.accounts.service import LoginAttempt, Registration
from auth_api.container import build_container
from auth_api.errors import InvalidCredentials, RateLimited
from auth_api.settings import Settings
from tests.support.clock import ManualClock
from tests.support.services import CLIENT_IP, PASSWORD


def embedded_settings() -> Settings:
    return Settings(
        env="test",
        jwt_secret="container clock test secret, long enough for HS256",
        mongo_url=None,
        redis_url=None,
        kafka_bootstrap=None,
        argon2_memory_kib=8,
        argon2_time_cost=1,
    )


async def test_tokens_and_sessions_follow_the_injected_clock() -> None:
    clock = ManualClock()
    container = await build_container(embedded_settings(), clock=clock)
    try:
        services = container.services
        await services.accounts.register(Registration("ada@example.com", PASSWORD, None), CLIENT_IP)
        clock.advance(3600)
        pair = await services.accounts.login(LoginAttempt("ada@example.com", PASSWORD, CLIENT_IP))
        payload = jwt.decode(pair.access.token, options={"verify_signature": False})
        assert payload["iat"] == int(clock.now().timestamp())
        [session] = await services.sessions.active(payload["sub"])
        assert session.created_at == clock.now()
    finally:
        await container.close()


async def test_embedded_rate_limit_windows_follow_the_injected_clock() -> None:
    clock = ManualClock()
    settings = embedded_settings()
    container = await build_container(settings, clock=clock)
    attempt = LoginAttempt("nobody@example.com", PASSWORD, CLIENT_IP)
    try:
        accounts = container.services.accounts
        for _ in range(settings.login_account_ip_limit):
            with pytest.raises(InvalidCredentials):
                await accounts.login(attempt)
        clock.advance(settings.login_window_seconds - 1)
        with pytest.raises(RateLimited) as limited:
            await accounts.login(attempt)
        assert limited.value.retry_after_seconds == 1
        clock.advance(1)
        with pytest.raises(InvalidCredentials):
            await accounts.login(attempt)
    finally:
        await container.close()

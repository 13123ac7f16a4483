"""quizauth_client over Sentinel: a quiz service's verifier, its denylist reading the
master the sentinels name, refuses a token the auth service (also in sentinel mode)
has revoked, and says "unavailable" when no master is known."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from auth_api.app import create_app
from auth_api.settings import Settings
from infra.stack_lib.redis_sentinel import MASTER_NAME, NativeRedisSentinel
from quizauth_client import JwksCache, RedisDenylist, TokenRejected, TokenVerifier
from quizauth_client.sentinel import connect_sentinel_master
from tests.conftest import running
from tests.support.api import bearer, registered_token

pytestmark = pytest.mark.integration
SettingsFactory = Callable[..., Settings]


@asynccontextmanager
async def sentinel_verifier(
    auth: httpx.AsyncClient, settings: Settings, master_name: str
) -> AsyncIterator[TokenVerifier]:
    assert settings.redis_sentinels is not None
    redis = connect_sentinel_master(settings.redis_sentinels, master_name, timeout_seconds=1.0)
    try:
        jwks = JwksCache("http://testserver/.well-known/jwks.json", auth)
        denylist = RedisDenylist(redis, settings.redis_prefix)
        yield TokenVerifier(jwks, denylist, settings.jwt_issuer, settings.jwt_audience)
    finally:
        await redis.aclose()


@pytest.fixture
def signed_settings(
    real_settings: SettingsFactory, redis_sentinel: NativeRedisSentinel
) -> Settings:
    """Sentinel mode, signing with a generated ES256 key that the JWKS publishes."""
    return real_settings(
        jwt_secret=None,
        redis_mode="sentinel",
        redis_url=None,
        redis_sentinels=redis_sentinel.sentinels,
        redis_sentinel_master=MASTER_NAME,
    )


async def test_the_client_refuses_a_token_revoked_in_sentinel_mode(
    signed_settings: Settings,
) -> None:
    async with (
        running(create_app(signed_settings)) as auth,
        sentinel_verifier(auth, signed_settings, MASTER_NAME) as verifier,
    ):
        _, token = await registered_token(auth)
        user = await verifier.verify(token)
        assert (await auth.post("/auth/logout", headers=bearer(token))).status_code == 204
        with pytest.raises(TokenRejected) as refused:
            await verifier.verify(token)
        assert not refused.value.unavailable
        assert user.user_id


async def test_no_master_known_is_unavailable_not_a_refusal(signed_settings: Settings) -> None:
    async with (
        running(create_app(signed_settings)) as auth,
        sentinel_verifier(auth, signed_settings, "no-such-master") as verifier,
    ):
        _, token = await registered_token(auth)
        with pytest.raises(TokenRejected) as refused:
            await verifier.verify(token)
        assert refused.value.unavailable

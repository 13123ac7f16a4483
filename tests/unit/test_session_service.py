"""SessionService rules, driven by a manual clock: rotation, the reuse grace period,
reuse detection, idle and absolute expiry, the per-user cap, and ending sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from auth_api.errors import InvalidRefreshToken, RefreshTokenReused, SessionNotFound
from auth_api.model.session import MAX_SESSIONS_PER_USER, SessionPolicy
from auth_api.passwords.hasher import PasswordHasher
from auth_api.sessions.service import TokenPair
from quizauth_wire import EventType, RevocationReason
from tests.support.clock import ManualClock
from tests.support.services import (
    ACCESS_TTL_SECONDS,
    LEEWAY_SECONDS,
    POLICY,
    ServiceSet,
    build_services,
)

GRACE = POLICY.reuse_grace.total_seconds()
IDLE = POLICY.idle_timeout.total_seconds()
DAY = 86400.0


async def logged_in(services: ServiceSet, email: str = "ada@example.com") -> TokenPair:
    if await services.store.find_by_email(email) is None:
        await services.sign_up(email)
    return await services.log_in(email)


async def test_rotation_returns_a_new_pair_and_retires_the_old_token(
    services: ServiceSet,
) -> None:
    first = await logged_in(services)
    second = await services.refresh(first)
    assert second.refresh_token != first.refresh_token
    assert second.access.jti != first.access.jti
    assert services.claims(second).session_id == services.claims(first).session_id
    services.clock.advance(GRACE)
    with pytest.raises(InvalidRefreshToken):
        await services.refresh(first)


async def test_without_a_grace_period_the_old_token_fails_at_once(
    clock: ManualClock, cheap_hasher: PasswordHasher
) -> None:
    no_grace = SessionPolicy(POLICY.absolute_lifetime, POLICY.idle_timeout, timedelta(0))
    services = build_services(clock, cheap_hasher, policy=no_grace)
    first = await logged_in(services)
    await services.refresh(first)
    with pytest.raises(RefreshTokenReused):
        await services.refresh(first)


async def test_a_retry_within_the_grace_period_gets_the_same_successor(
    services: ServiceSet,
) -> None:
    first = await logged_in(services)
    second = await services.refresh(first)
    services.clock.advance(GRACE - 0.001)
    retried = await services.refresh(first)
    assert retried.refresh_token == second.refresh_token
    # The retry did not rotate again: the successor is still the live token.
    third = await services.refresh(retried)
    assert third.refresh_token != second.refresh_token


async def test_a_retry_at_the_end_of_the_grace_period_is_reuse(services: ServiceSet) -> None:
    first = await logged_in(services)
    await services.refresh(first)
    services.clock.advance(GRACE)
    with pytest.raises(RefreshTokenReused):
        await services.refresh(first)


async def test_reuse_ends_the_session_and_denies_its_access_tokens(
    services: ServiceSet,
) -> None:
    first = await logged_in(services)
    second = await services.refresh(first)
    user_id = services.claims(first).user_id
    services.clock.advance(GRACE + 1)
    with pytest.raises(RefreshTokenReused):
        await services.refresh(first)
    session = (await services.stored_sessions(user_id))[services.claims(first).session_id]
    assert session.revoked_at == services.clock.now()
    assert session.revoked_reason == RevocationReason.REFRESH_TOKEN_REUSE
    assert await services.is_denied(services.claims(first))
    assert await services.is_denied(services.claims(second))
    # The holder of the successor is logged out too: either copy may be the thief's.
    with pytest.raises(InvalidRefreshToken):
        await services.refresh(second)
    assert (await services.event_types(user_id))[-1] == EventType.SESSION_REVOKED
    assert services.recorded[-1] == user_id


async def test_an_older_spent_token_is_reuse_even_within_the_grace_period(
    services: ServiceSet,
) -> None:
    first = await logged_in(services)
    second = await services.refresh(first)
    await services.refresh(second)
    with pytest.raises(RefreshTokenReused):
        await services.refresh(first)


async def test_an_idle_session_ends(services: ServiceSet) -> None:
    pair = await logged_in(services)
    services.clock.advance(IDLE - 0.001)
    pair = await services.refresh(pair)  # use restarts the idle timer
    services.clock.advance(IDLE)
    with pytest.raises(InvalidRefreshToken) as refused:
        await services.refresh(pair)
    assert not isinstance(refused.value, RefreshTokenReused)


async def test_a_session_in_steady_use_still_ends_at_its_absolute_lifetime(
    services: ServiceSet,
) -> None:
    pair = await logged_in(services)
    for _ in range(4):  # days 6, 12, 18, 24: each inside the 7-day idle timeout
        services.clock.advance(6 * DAY)
        pair = await services.refresh(pair)
    # The refresh token's lifetime is what is left of the 30 days, not a fresh 7.
    assert pair.refresh_expires_in == 6 * DAY
    services.clock.advance(6 * DAY)
    with pytest.raises(InvalidRefreshToken):
        await services.refresh(pair)


async def test_a_login_beyond_the_cap_drops_the_least_recently_used_session(
    services: ServiceSet,
) -> None:
    await services.sign_up("ada@example.com")
    pairs = []
    for device in range(MAX_SESSIONS_PER_USER + 1):
        # One address per device, which keeps the per-IP login limit out of the way.
        pairs.append(await services.log_in("ada@example.com", client_ip=f"198.51.100.{device}"))
        services.clock.advance(1)
    user_id = services.claims(pairs[0]).user_id
    stored = await services.stored_sessions(user_id)
    assert len(stored) == MAX_SESSIONS_PER_USER
    assert services.claims(pairs[0]).session_id not in stored
    assert {services.claims(p).session_id for p in pairs[1:]} == set(stored)
    with pytest.raises(InvalidRefreshToken):
        await services.refresh(pairs[0])
    await services.refresh(pairs[1])


async def test_an_unknown_session_is_not_found_and_ending_one_again_denies_again(
    services: ServiceSet,
) -> None:
    mine = await logged_in(services)
    other = await logged_in(services)
    claims = services.claims(mine)
    with pytest.raises(SessionNotFound):
        await services.sessions.end_one(claims, "no-such-session")
    other_id = services.claims(other).session_id
    await services.sessions.end_one(claims, other_id)
    assert await services.is_denied(services.claims(other))
    assert not await services.is_denied(claims)
    # A retry (its first answer lost, or Redis down the first time) is not refused: it
    # redoes the denial (tests/sessions/test_revocation.py shows the redo on Redis).
    await services.sessions.end_one(claims, other_id)
    assert await services.is_denied(services.claims(other))


async def test_logout_everywhere_denies_tokens_issued_before_it(services: ServiceSet) -> None:
    phone = await logged_in(services)
    laptop = await logged_in(services)
    services.clock.advance(1)
    await services.sessions.end_all(services.claims(phone))
    user_id = services.claims(phone).user_id
    assert all(s.revoked_at is not None for s in (await services.stored_sessions(user_id)).values())
    for pair in (phone, laptop):
        assert await services.is_denied(services.claims(pair))
        # Denied by the user's cut-off alone, whatever session the token names.
        assert await services.is_denied(services.claims(pair), session_id="elsewhere")
    with pytest.raises(InvalidRefreshToken):
        await services.refresh(laptop)
    # A login from the next second on is not caught by it (its own second is).
    services.clock.advance(1)
    fresh = await services.log_in("ada@example.com")
    assert not await services.is_denied(services.claims(fresh))


async def test_logout_ends_the_session_and_denies_the_token_until_it_expires(
    services: ServiceSet,
) -> None:
    pair = await logged_in(services)
    claims = services.claims(pair)
    services.clock.advance(600)
    await services.sessions.end_current(claims)
    session = (await services.stored_sessions(claims.user_id))[claims.session_id]
    assert session.revoked_reason == RevocationReason.LOGOUT
    with pytest.raises(InvalidRefreshToken):
        await services.refresh(pair)
    assert (await services.event_types(claims.user_id))[-1] == EventType.USER_LOGGED_OUT
    assert services.recorded[-1] == claims.user_id
    # The token's own denial (its session's is looked past) outlasts the token, and the
    # leeway a verifier grants past its expiry, by a second.
    remaining = ACCESS_TTL_SECONDS - 600 + LEEWAY_SECONDS + 1
    services.clock.advance(remaining - 1)
    assert await services.is_denied(claims, session_id="elsewhere")
    services.clock.advance(1)
    assert not await services.is_denied(claims, session_id="elsewhere")

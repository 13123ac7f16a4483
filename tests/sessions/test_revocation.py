"""When and in which order revocations are written, on the session service with its
in-memory twins: denials outlive the leeway, logout-all covers its own second, evicted
sessions are revoked, and a failed or retried revocation always ends up denied."""

from __future__ import annotations

import pytest

from auth_api.errors import DependencyUnavailable, RefreshTokenReused
from auth_api.model.session import MAX_SESSIONS_PER_USER
from quizauth_wire import EventType, RevocationReason
from tests.sessions.revocation_world import LEEWAY, TTL, World, world


@pytest.fixture
def w() -> World:
    return world()


# --- Denials last as long as the decoder accepts the token: expiry plus leeway --------


async def test_a_logged_out_token_stays_denied_through_the_leeway(w: World) -> None:
    claims, _ = await w.login(await w.user())
    await w.sessions.end_current(claims)
    # The decoder accepts a token until exp + leeway; the denial must last as long.
    w.clock.advance(TTL + LEEWAY - 0.5)
    assert await w.denied(claims)
    assert await w.denied(claims, session_id="another-session")  # by its jti alone


async def test_an_ended_sessions_tokens_stay_denied_through_the_leeway(w: World) -> None:
    user = await w.user()
    phone, _ = await w.login(user)
    laptop, _ = await w.login(user)
    await w.sessions.end_one(laptop, phone.session_id)
    w.clock.advance(TTL + LEEWAY - 0.5)
    assert await w.denied(phone)


async def test_logout_all_denies_through_the_leeway(w: World) -> None:
    claims, _ = await w.login(await w.user())
    await w.sessions.end_all(claims)
    w.clock.advance(TTL + LEEWAY - 0.5)
    # A session logout-all did not see (say, dropped from the map): valid-after covers it.
    assert await w.denied(claims, session_id="a-session-not-in-the-map")


async def test_denials_do_end_once_no_token_can_use_them(w: World) -> None:
    claims, _ = await w.login(await w.user())
    await w.sessions.end_all(claims)
    w.clock.advance(TTL + LEEWAY + 2)
    assert not await w.denied(claims)


# --- Logout-all covers every token issued in its own second ---------------------------


async def test_logout_all_denies_a_token_issued_earlier_in_the_same_second(w: World) -> None:
    claims, _ = await w.login(await w.user())
    # The logout-all happens 0.9 s after the token was issued, within the same second.
    w.clock.set_wall(claims.issued_at + 0.9)
    await w.sessions.end_all(claims)
    assert await w.denied(claims, session_id="a-session-not-in-the-map")


async def test_logout_all_spares_tokens_issued_from_the_next_second(w: World) -> None:
    claims, _ = await w.login(await w.user())
    w.clock.set_wall(claims.issued_at + 0.9)
    await w.sessions.end_all(claims)
    later = await w.revocations.is_revoked("j", claims.user_id, "s", claims.issued_at + 1)
    assert not later


# --- Sessions evicted by the per-user cap are revoked like a logout -------------------


async def test_a_session_evicted_by_the_cap_is_denied_and_reported(w: World) -> None:
    user = await w.user()
    oldest, _ = await w.login(user)
    for _ in range(MAX_SESSIONS_PER_USER - 1):
        w.clock.advance(1)
        await w.login(user)
    assert not await w.denied(oldest)
    w.clock.advance(1)
    newest, _ = await w.login(user)
    assert await w.denied(oldest)
    assert not await w.denied(newest)
    sessions = await w.store.sessions_of(user.id)
    assert sessions is not None
    assert oldest.session_id not in sessions
    assert len(sessions) == MAX_SESSIONS_PER_USER
    [revoked] = await w.events_of(user, EventType.SESSION_REVOKED)
    assert revoked.data["reason"] == RevocationReason.EVICTED
    assert revoked.data["session_ids"] == [oldest.session_id]


async def test_without_redis_a_login_keeps_the_session_it_cannot_deny(w: World) -> None:
    """A login stays possible during a Redis outage, but no session disappears while its
    tokens live on: the cap waits for the next login with Redis."""
    user = await w.user()
    oldest, _ = await w.login(user)
    for _ in range(MAX_SESSIONS_PER_USER - 1):
        w.clock.advance(1)
        await w.login(user)
    w.revocations.down = True
    w.clock.advance(1)
    await w.login(user)
    sessions = await w.store.sessions_of(user.id)
    assert sessions is not None
    assert oldest.session_id in sessions
    assert await w.events_of(user, EventType.SESSION_REVOKED) == []
    w.revocations.down = False
    w.clock.advance(1)
    await w.login(user)
    assert await w.denied(oldest)
    sessions = await w.store.sessions_of(user.id)
    assert sessions is not None
    assert len(sessions) == MAX_SESSIONS_PER_USER


# --- The denial is written first, and a retry always writes it again ------------------


async def test_a_failed_delete_ends_nothing_and_its_retry_ends_and_denies(w: World) -> None:
    user = await w.user()
    phone, _ = await w.login(user)
    laptop, _ = await w.login(user)
    w.revocations.down = True
    with pytest.raises(DependencyUnavailable):
        await w.sessions.end_one(laptop, phone.session_id)
    listed = [s.id for s in await w.sessions.active(user.id)]
    assert phone.session_id in listed  # still shown: the user sees it was not ended
    w.revocations.down = False
    await w.sessions.end_one(laptop, phone.session_id)
    assert await w.denied(phone)
    assert phone.session_id not in [s.id for s in await w.sessions.active(user.id)]


async def test_deleting_an_ended_session_again_denies_it_again(w: World) -> None:
    """The retry of a DELETE whose first attempt ended the session: it succeeds and
    writes the denial again (here, a denylist that lost it, as after a failed write)."""
    user = await w.user()
    phone, _ = await w.login(user)
    laptop, _ = await w.login(user)
    await w.sessions.end_one(laptop, phone.session_id)
    w.revocations.lose_everything()
    assert not await w.denied(phone)
    await w.sessions.end_one(laptop, phone.session_id)
    assert await w.denied(phone)
    assert len(await w.events_of(user, EventType.SESSION_REVOKED)) == 1


async def test_reuse_detection_during_a_redis_outage_is_completed_by_its_retry(
    w: World,
) -> None:
    user = await w.user()
    _, pair = await w.login(user)
    stolen = await w.sessions.refresh(pair.refresh_token, "thief")  # the thief is first
    thief = w.codec.verify(stolen.access.token)
    w.revocations.down = True
    with pytest.raises(DependencyUnavailable):
        await w.sessions.refresh(pair.refresh_token, "victim")  # spent: reuse
    w.revocations.down = False
    with pytest.raises(RefreshTokenReused):
        await w.sessions.refresh(pair.refresh_token, "victim")  # the retry
    assert await w.denied(thief)
    [revoked] = await w.events_of(user, EventType.SESSION_REVOKED)
    assert revoked.data["reason"] == RevocationReason.REFRESH_TOKEN_REUSE


async def test_reuse_presented_again_after_the_end_denies_again(w: World) -> None:
    user = await w.user()
    _, pair = await w.login(user)
    thief = w.codec.verify((await w.sessions.refresh(pair.refresh_token, "thief")).access.token)
    with pytest.raises(RefreshTokenReused):
        await w.sessions.refresh(pair.refresh_token, "victim")
    w.revocations.lose_everything()
    with pytest.raises(RefreshTokenReused):
        await w.sessions.refresh(pair.refresh_token, "victim")
    assert await w.denied(thief)


async def test_a_failed_logout_ends_nothing_and_its_retry_ends_and_denies(w: World) -> None:
    user = await w.user()
    claims, _ = await w.login(user)
    w.revocations.down = True
    with pytest.raises(DependencyUnavailable):
        await w.sessions.end_current(claims)
    assert [s.id for s in await w.sessions.active(user.id)] == [claims.session_id]
    w.revocations.down = False
    await w.sessions.end_current(claims)
    assert await w.denied(claims)
    assert await w.sessions.active(user.id) == []


async def test_a_failed_logout_all_ends_nothing_and_its_retry_ends_and_denies(
    w: World,
) -> None:
    user = await w.user()
    phone, _ = await w.login(user)
    laptop, _ = await w.login(user)
    w.revocations.down = True
    with pytest.raises(DependencyUnavailable):
        await w.sessions.end_all(laptop)
    assert len(await w.sessions.active(user.id)) == 2
    w.revocations.down = False
    await w.sessions.end_all(laptop)
    assert await w.denied(phone)
    assert await w.sessions.active(user.id) == []


# --- Logout-all's cut-off travels as an event, for services that follow events --------


async def test_logout_all_records_its_cut_off_with_the_sessions_end(w: World) -> None:
    user = await w.user()
    phone, _ = await w.login(user)
    laptop, _ = await w.login(user)
    w.clock.set_wall(laptop.issued_at + 0.4)
    await w.sessions.end_all(laptop)
    (cut_off,) = await w.events_of(user, EventType.USER_TOKENS_REVOKED)
    # The same cut-off as the valid-after key: the logout-all's own second included.
    assert cut_off.data == {
        "user_id": user.id,
        "valid_after": laptop.issued_at + 1,
        "reason": RevocationReason.LOGOUT_ALL,
    }
    (ended,) = await w.events_of(user, EventType.SESSION_REVOKED)
    assert set(ended.data["session_ids"]) == {phone.session_id, laptop.session_id}
    pending = await w.store.pending_of(user.id)
    assert pending is not None
    # In the order the denials were written: the cut-off first.
    assert [e.type for e in pending.events][-2:] == [
        EventType.USER_TOKENS_REVOKED,
        EventType.SESSION_REVOKED,
    ]
    assert w.recorded[-1] == user.id


async def test_logout_all_records_its_cut_off_even_with_no_session_left(w: World) -> None:
    user = await w.user()
    claims, _ = await w.login(user)
    await w.sessions.end_current(claims)  # the session ends; its token outlives it here
    await w.sessions.end_all(claims)
    (cut_off,) = await w.events_of(user, EventType.USER_TOKENS_REVOKED)
    assert cut_off.data["valid_after"] > claims.issued_at
    assert await w.events_of(user, EventType.SESSION_REVOKED) == []

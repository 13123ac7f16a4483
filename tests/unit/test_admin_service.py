"""The admin service on the in-memory twins and a manual clock: roles reach the next
token and end the earlier ones, a disabled account stops everywhere, the last admin
stays, and every refusal changes nothing."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from auth_api.admin.listing import ListRequest
from auth_api.admin.service import CLI, Actor
from auth_api.errors import (
    AccountDisabled,
    Forbidden,
    InvalidCredentials,
    InvalidInput,
    InvalidRefreshToken,
    LastAdmin,
    NotAuthenticated,
    RateLimited,
    UnknownRoles,
    UserNotFound,
)
from auth_api.model.user import User
from auth_api.store.admin_ports import Disabling
from auth_api.tokens.claims import AccessClaims
from tests.support.services import LIMITS, PASSWORD, ServiceSet

EMAIL = "player@example.com"


async def admin_and_player(services: ServiceSet) -> tuple[Actor, User]:
    boss = await services.make_admin("boss@example.com")
    return Actor(boss.id), await services.sign_up(EMAIL)


async def pending_events(services: ServiceSet, user_id: str) -> list[tuple[str, dict[str, Any]]]:
    pending = await services.store.pending_of(user_id)
    return [(str(e.type), e.data) for e in pending.events] if pending else []


async def events_of(services: ServiceSet, user_id: str, kind: str) -> list[dict[str, Any]]:
    return [data for t, data in await pending_events(services, user_id) if t == kind]


async def snapshot(services: ServiceSet, user_id: str) -> tuple[Any, ...]:
    """What a refusal must leave as it was: the user, its sessions, its outbox."""
    user = await services.store.find_with_sessions(user_id)
    return user, await pending_events(services, user_id)


# --- Roles in tokens ------------------------------------------------------------------


async def test_a_token_carries_the_roles_and_the_scopes_they_grant(services: ServiceSet) -> None:
    await services.sign_up(EMAIL)
    claims = services.claims(await services.log_in(EMAIL))
    assert (claims.roles, claims.scopes) == ({"user"}, {"quiz.play"})


async def test_a_role_change_shows_in_the_next_refresh_and_ends_earlier_tokens(
    services: ServiceSet,
) -> None:
    actor, player = await admin_and_player(services)
    pair = await services.log_in(EMAIL)
    before = services.clock.now()
    changed = await services.admin.set_roles(actor, player.id, ["quizmaster"])
    assert changed.roles == {"user", "quizmaster"}
    # The call answered once the cut-off second was over, so the next token is valid.
    assert services.clock.now() >= before.replace(microsecond=0) + timedelta(seconds=1)
    assert await services.is_denied(services.claims(pair))

    renewed = services.claims(await services.refresh(pair))
    assert renewed.roles == {"user", "quizmaster"}
    assert renewed.scopes == {"quiz.play", "quiz.write", "quiz.grade"}
    assert not await services.is_denied(renewed)


async def test_a_token_is_stamped_with_when_its_roles_were_read(services: ServiceSet) -> None:
    """A refresh that read the roles just before a change, and issues its token just
    after it, must not outlive the change: the token's iat is the read's time."""
    actor, player = await admin_and_player(services)
    pair = await services.log_in(EMAIL)
    read_at = services.clock.now()
    await services.admin.set_roles(actor, player.id, ["quizmaster"])
    sid = services.claims(pair).session_id
    late = services.codec.issue(player.id, sid, {"user"}, as_of=read_at)
    assert await services.is_denied(services.token_claims(late.token))
    stamped_now = services.codec.issue(player.id, sid, {"user"})
    assert not await services.is_denied(services.token_claims(stamped_now.token))


async def test_a_role_change_records_one_event_with_the_old_and_new_roles(
    services: ServiceSet,
) -> None:
    actor, player = await admin_and_player(services)
    changed_at = services.clock.now()
    await services.admin.set_roles(actor, player.id, ["quizmaster", "reviewer"])
    (data,) = await events_of(services, player.id, "user.roles_changed")
    assert data["old_roles"] == ["user"]
    assert data["new_roles"] == ["quizmaster", "reviewer", "user"]
    assert data["changed_by"] == actor.user_id
    assert player.id in services.changed  # the cached profile is dropped
    # For the services that follow revocations by events: the same cut-off as Redis.
    kind, revoked = (await pending_events(services, player.id))[-1]
    assert kind == "user.tokens_revoked"
    assert revoked["valid_after"] == int(changed_at.timestamp()) + 1
    assert revoked["reason"] == "roles_changed"


async def test_unknown_roles_are_refused_and_change_nothing(services: ServiceSet) -> None:
    actor, player = await admin_and_player(services)
    before = await snapshot(services, player.id)
    with pytest.raises(UnknownRoles) as refused:
        await services.admin.set_roles(actor, player.id, ["quizmaster", "wizard"])
    assert [p.field for p in refused.value.problems] == ["roles"]
    assert await snapshot(services, player.id) == before


async def test_setting_the_same_roles_again_only_ends_the_tokens_again(
    services: ServiceSet,
) -> None:
    actor, player = await admin_and_player(services)
    await services.admin.set_roles(actor, player.id, ["reviewer"])
    pair = await services.log_in(EMAIL)
    await services.admin.set_roles(actor, player.id, ["user", "reviewer"])
    assert len(await events_of(services, player.id, "user.roles_changed")) == 1
    assert len(await events_of(services, player.id, "user.tokens_revoked")) == 2
    assert await services.is_denied(services.claims(pair))


# --- Who may administer -----------------------------------------------------------------


def claims_of(user: User, *roles: str) -> AccessClaims:
    return AccessClaims(user.id, "jti", "sid", 0, 0, roles=frozenset({"user", *roles}))


async def test_only_an_admin_by_token_and_by_store_is_authorized(services: ServiceSet) -> None:
    actor, player = await admin_and_player(services)
    boss = await services.store.find_by_id(str(actor.user_id))
    assert boss is not None
    assert await services.admin.authorize(claims_of(boss, "admin")) == actor
    with pytest.raises(Forbidden):
        await services.admin.authorize(claims_of(boss))  # the token lacks the role
    with pytest.raises(Forbidden):
        await services.admin.authorize(claims_of(player, "admin"))  # the store says no


async def test_a_removed_admin_is_refused_at_once(services: ServiceSet) -> None:
    actor, _ = await admin_and_player(services)
    other = await services.make_admin("other@example.com")
    await services.admin.set_roles(actor, other.id, [])
    with pytest.raises(Forbidden):
        await services.admin.authorize(claims_of(other, "admin"))


async def test_a_disabled_admin_is_refused_at_once(services: ServiceSet) -> None:
    actor, _ = await admin_and_player(services)
    other = await services.make_admin("other@example.com")
    await services.admin.disable(actor, other.id, "left the team")
    with pytest.raises(Forbidden):
        await services.admin.authorize(claims_of(other, "admin"))


# --- The last admin ---------------------------------------------------------------------


async def test_the_last_admin_cannot_drop_the_role_or_disable_themself(
    services: ServiceSet,
) -> None:
    actor, _ = await admin_and_player(services)
    boss_id = str(actor.user_id)
    before = await snapshot(services, boss_id)
    with pytest.raises(LastAdmin):
        await services.admin.set_roles(actor, boss_id, ["quizmaster"])
    with pytest.raises(LastAdmin):
        await services.admin.disable(actor, boss_id, "holiday")
    with pytest.raises(LastAdmin):
        await services.admin.set_roles(CLI, boss_id, [])
    assert await snapshot(services, boss_id) == before


async def test_with_a_second_admin_one_may_step_down(services: ServiceSet) -> None:
    actor, _ = await admin_and_player(services)
    await services.make_admin("other@example.com")
    stepped_down = await services.admin.set_roles(actor, str(actor.user_id), [])
    assert stepped_down.roles == {"user"}


class YieldingCount:
    """Counts the admins, letting other tasks run first: as a count on a remote store
    would, so that two removals started together interleave."""

    def __init__(self, services: ServiceSet) -> None:
        self._real = services.admin._stores.admin.count_admins

    async def __call__(self) -> int:
        await asyncio.sleep(0)
        count = await self._real()
        await asyncio.sleep(0)
        return count


@pytest.mark.parametrize("removal", ["disable", "drop the role"])
async def test_two_admins_removing_each_other_at_once_leave_one_and_touch_the_other_not(
    services: ServiceSet, monkeypatch: pytest.MonkeyPatch, removal: str
) -> None:
    """Without the removal lock both would count two admins, and both would go. With it
    the second is refused before it writes: the refused admin keeps their sessions and
    their state, and no event says otherwise."""
    first = await services.make_admin("first@example.com")
    second = await services.make_admin("second@example.com")
    for admin in (first, second):
        await services.log_in(admin.email)
    monkeypatch.setattr(services.admin._stores.admin, "count_admins", YieldingCount(services))

    async def remove(actor: User, target: User) -> str | None:
        try:
            if removal == "disable":
                await services.admin.disable(Actor(actor.id), target.id, "mutiny")
            else:
                await services.admin.set_roles(Actor(actor.id), target.id, [])
        except LastAdmin:
            return target.id
        return None

    refused = [r for r in await asyncio.gather(remove(first, second), remove(second, first)) if r]
    assert len(refused) == 1
    assert await services.admin._stores.admin.count_admins() == 1
    kept = await services.store.find_with_sessions(refused[0])
    assert kept is not None
    assert kept.is_active
    assert kept.is_admin
    assert all(s.revoked_at is None for s in kept.sessions.values())
    kinds = [kind for kind, _ in await pending_events(services, refused[0])]
    assert "user.disabled" not in kinds
    assert "session.revoked" not in kinds
    assert kinds.count("user.roles_changed") == 1  # the promotion, nothing after


# --- A disabled account stops everywhere --------------------------------------------------


async def test_disable_ends_every_session_and_every_token(services: ServiceSet) -> None:
    actor, player = await admin_and_player(services)
    pairs = [await services.log_in(EMAIL) for _ in range(2)]
    disabled = await services.admin.disable(actor, player.id, "cheating")
    assert (disabled.is_active, disabled.disabled_reason) == (False, "cheating")
    for pair in pairs:
        assert await services.is_denied(services.claims(pair))
        with pytest.raises(InvalidRefreshToken):
            await services.refresh(pair)
    sessions = await services.stored_sessions(player.id)
    assert {s.revoked_reason for s in sessions.values()} == {"account_disabled"}
    with pytest.raises(NotAuthenticated):
        await services.accounts.current_user(services.claims(pairs[0]))
    kinds = [kind for kind, _ in await pending_events(services, player.id)]
    assert kinds[-3:] == ["user.disabled", "session.revoked", "user.tokens_revoked"]
    (data,) = await events_of(services, player.id, "user.disabled")
    (revoked,) = await events_of(services, player.id, "session.revoked")
    assert set(data["session_ids"]) == set(revoked["session_ids"]) == set(sessions)
    assert (data["reason"], data["disabled_by"], revoked["reason"]) == (
        "cheating",
        actor.user_id,
        "account_disabled",
    )
    (cut_off,) = await events_of(services, player.id, "user.tokens_revoked")
    assert cut_off["reason"] == "account_disabled"


async def test_a_disabled_account_tells_its_state_only_to_the_right_password(
    services: ServiceSet,
) -> None:
    actor, player = await admin_and_player(services)
    await services.admin.disable(actor, player.id, "cheating")
    with pytest.raises(AccountDisabled):
        await services.log_in(EMAIL)
    with pytest.raises(InvalidCredentials):
        await services.log_in(EMAIL, "a wrong password entirely")


async def test_disabling_twice_records_one_disable(services: ServiceSet) -> None:
    actor, player = await admin_and_player(services)
    await services.admin.disable(actor, player.id, "cheating")
    await services.admin.disable(actor, player.id, "again")
    assert len(await events_of(services, player.id, "user.disabled")) == 1
    assert len(await events_of(services, player.id, "user.tokens_revoked")) == 2


async def test_enable_lets_the_user_log_in_again_but_revives_no_session(
    services: ServiceSet,
) -> None:
    actor, player = await admin_and_player(services)
    old = await services.log_in(EMAIL)
    await services.admin.disable(actor, player.id, "cheating")
    enabled = await services.admin.enable(actor, player.id)
    assert enabled.is_active
    assert (await pending_events(services, player.id))[-1][0] == "user.enabled"
    with pytest.raises(InvalidRefreshToken):
        await services.refresh(old)
    fresh = await services.log_in(EMAIL)
    assert not await services.is_denied(services.claims(fresh))
    assert (await services.refresh(fresh)).access.token


async def test_a_session_the_disable_did_not_see_is_not_revived_by_enable(
    services: ServiceSet,
) -> None:
    """A login racing the disable: its session was written after the disable read the
    sessions. Refreshing it is refused while disabled, and after the enable too."""
    actor, player = await admin_and_player(services)
    racing = await services.log_in(EMAIL)
    at = services.clock.now()
    assert await services.admin._stores.admin.disable(Disabling(player.id, at, "race", []))
    with pytest.raises(InvalidRefreshToken):
        await services.refresh(racing)
    services.clock.advance(1)
    await services.admin.enable(actor, player.id)
    with pytest.raises(InvalidRefreshToken):
        await services.refresh(racing)


# --- Sessions and throttling ----------------------------------------------------------------


async def test_logout_all_by_an_admin_ends_the_users_sessions(services: ServiceSet) -> None:
    actor, player = await admin_and_player(services)
    pair = await services.log_in(EMAIL)
    await services.admin.logout_all(actor, player.id)
    assert await services.is_denied(services.claims(pair))
    with pytest.raises(InvalidRefreshToken):
        await services.refresh(pair)
    (revoked,) = await events_of(services, player.id, "session.revoked")
    (cut_off,) = await events_of(services, player.id, "user.tokens_revoked")
    assert revoked["reason"] == cut_off["reason"] == "ended_by_admin"


async def test_lifting_the_throttle_lets_the_blocked_address_in_at_once(
    services: ServiceSet,
) -> None:
    actor, player = await admin_and_player(services)
    for _ in range(LIMITS.login_account_ip):
        with pytest.raises(InvalidCredentials):
            await services.log_in(EMAIL, "a wrong password entirely")
    with pytest.raises(RateLimited):
        await services.log_in(EMAIL, PASSWORD)
    await services.admin.lift_rate_limits(actor, player.id)
    assert (await services.log_in(EMAIL, PASSWORD)).access.token


# --- Listing and reading ------------------------------------------------------------------


async def test_pages_follow_the_cursor_through_every_user_once(services: ServiceSet) -> None:
    actor, _ = await admin_and_player(services)
    for name in ("eve", "ada", "bob", "dan", "cy"):
        await services.sign_up(f"{name}@example.com")
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = await services.admin.list_users(actor, ListRequest(cursor=cursor, limit=2))
        seen += [u.email for u in page.users]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen)) == 7


async def test_filters_combine(services: ServiceSet) -> None:
    actor, player = await admin_and_player(services)
    await services.sign_up("PLAYground@example.com")
    await services.admin.disable(actor, player.id, "cheating")

    async def emails(**request: Any) -> list[str]:
        page = await services.admin.list_users(actor, ListRequest(**request))
        return [u.email_normalized for u in page.users]

    assert await emails(email_prefix="Play") == ["player@example.com", "playground@example.com"]
    assert await emails(email_prefix="play", disabled=False) == ["playground@example.com"]
    assert await emails(role="admin") == ["boss@example.com"]


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (ListRequest(limit=0), "limit"),
        (ListRequest(limit=201), "limit"),
        (ListRequest(cursor="not a cursor"), "cursor"),
        (ListRequest(cursor="dTE6bm9hdA"), "cursor"),  # a well-formed cursor of no email
        (ListRequest(role="wizard"), "role"),
    ],
)
async def test_bad_listing_parameters_are_refused(
    services: ServiceSet, request_: ListRequest, field: str
) -> None:
    actor, _ = await admin_and_player(services)
    with pytest.raises(InvalidInput) as refused:
        await services.admin.list_users(actor, request_)
    assert [p.field for p in refused.value.problems] == [field]


async def test_the_detail_shows_sessions_and_which_still_work(services: ServiceSet) -> None:
    actor, player = await admin_and_player(services)
    kept = services.claims(await services.log_in(EMAIL))
    ended = await services.log_in(EMAIL)
    await services.sessions.end_current(services.claims(ended))
    detail = await services.admin.detail(actor, player.id)
    assert {v.session.id: v.active for v in detail.sessions} == {
        kept.session_id: True,
        services.claims(ended).session_id: False,
    }


@pytest.mark.parametrize(
    "call",
    ["detail", "set_roles", "disable", "enable", "logout_all", "lift_rate_limits"],
)
async def test_an_unknown_user_is_not_found(services: ServiceSet, call: str) -> None:
    actor, _ = await admin_and_player(services)
    arguments = {"set_roles": (["reviewer"],), "disable": ("spam",)}.get(call, ())
    with pytest.raises(UserNotFound):
        await getattr(services.admin, call)(actor, "no-such-user", *arguments)


async def test_a_deleted_account_is_not_found(services: ServiceSet) -> None:
    actor, player = await admin_and_player(services)
    stored = services.store.users[player.id]
    stored.is_active, stored.deleted_at = False, services.clock.now()
    for call, arguments in [("detail", ()), ("enable", ()), ("set_roles", (["reviewer"],))]:
        with pytest.raises(UserNotFound):
            await getattr(services.admin, call)(actor, player.id, *arguments)
    assert not stored.is_active

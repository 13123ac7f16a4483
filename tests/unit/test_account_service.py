"""AccountService rules without HTTP: registration, login, rate limits, rehashing, and
the events each change records."""

from __future__ import annotations

import dataclasses

import pytest
from passlib.context import CryptContext

from auth_api.errors import (
    AccountDisabled,
    EmailAlreadyRegistered,
    InvalidCredentials,
    InvalidInput,
    NotAuthenticated,
    RateLimited,
    WeakPassword,
)
from auth_api.model.events import PendingEvent
from auth_api.model.user import User, new_user_id
from auth_api.passwords.hasher import VerifyResult, build_context
from auth_api.store.account_ports import AccountChange
from auth_api.tokens.claims import AccessClaims
from quizauth_wire import EventType
from tests.support.clock import ManualClock
from tests.support.services import (
    CHEAPEST_HASHING,
    LIMITS,
    PASSWORD,
    ServiceSet,
    build_services,
    fast_hasher,
)

EMAIL = "ada@example.com"
WRONG = "not the password at all"


async def test_register_stores_the_user_and_records_one_event(services: ServiceSet) -> None:
    user = await services.sign_up("Ada.Lovelace@Example.COM")
    stored = await services.store.find_by_email("ada.lovelace@example.com")
    assert stored is not None
    assert stored.id == user.id
    assert stored.created_at == services.clock.now()
    assert stored.password_hash.startswith("$argon2id$")
    pending = await services.store.pending_of(user.id)
    assert pending is not None
    [event] = pending.events
    assert event.type == EventType.USER_REGISTERED
    assert event.data["registered_at"] == services.clock.now()
    assert "password_hash" not in event.data
    assert services.recorded == [user.id]


async def test_an_email_registers_once_whatever_its_case(services: ServiceSet) -> None:
    await services.sign_up(EMAIL)
    with pytest.raises(EmailAlreadyRegistered):
        await services.sign_up("ADA@example.com")
    assert len(services.recorded) == 1


@pytest.mark.parametrize("password", ["short", "password123", "ada-is-my-name"])
async def test_a_weak_password_is_refused_and_nothing_stored(
    services: ServiceSet, password: str
) -> None:
    with pytest.raises(WeakPassword) as refused:
        await services.sign_up(EMAIL, password)
    assert [p.field for p in refused.value.problems] == ["password"]
    assert await services.store.find_by_email(EMAIL) is None
    assert services.recorded == []


@pytest.mark.parametrize("email", ["not-an-email", "ada@", "@example.com", "a b@example.com"])
async def test_an_invalid_email_is_refused(services: ServiceSet, email: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        await services.sign_up(email)
    assert [p.field for p in refused.value.problems] == ["email"]
    assert services.recorded == []


async def test_login_opens_a_session_and_records_the_event(services: ServiceSet) -> None:
    user = await services.sign_up(EMAIL)
    services.clock.advance(60)
    pair = await services.log_in("ADA@example.com")
    claims = services.claims(pair)
    assert claims.user_id == user.id
    assert claims.issued_at == int(services.clock.now().timestamp())
    stored = await services.store.find_by_email(EMAIL)
    assert stored is not None
    assert stored.last_login_at == services.clock.now()
    assert list(stored.sessions) == [claims.session_id]
    pending = await services.store.pending_of(user.id)
    assert pending is not None
    logged_in = pending.events[-1]
    assert logged_in.type == EventType.USER_LOGGED_IN
    assert logged_in.data["session_id"] == claims.session_id
    assert services.recorded == [user.id, user.id]


async def test_a_wrong_password_or_unknown_email_opens_nothing(services: ServiceSet) -> None:
    user = await services.sign_up(EMAIL)
    with pytest.raises(InvalidCredentials):
        await services.log_in(EMAIL, WRONG)
    with pytest.raises(InvalidCredentials):
        await services.log_in("nobody@example.com")
    assert await services.stored_sessions(user.id) == {}
    assert await services.event_types(user.id) == [EventType.USER_REGISTERED]


async def test_a_login_whose_password_was_reset_meanwhile_opens_nothing(
    services: ServiceSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reset that lands between the login's read and its write wins: the old password
    must not open a session, record a login, or write its hash back over the new one."""
    user = await services.sign_up(EMAIL)
    read = services.store.find_by_email

    async def read_then_reset(key: str) -> User | None:
        found = await read(key)
        reset = AccountChange(fields={"password_hash": "$argon2id$set-by-the-reset"})
        await services.store.change_account(user.id, lambda _: reset)
        return found

    monkeypatch.setattr(services.store, "find_by_email", read_then_reset)
    with pytest.raises(InvalidCredentials):
        await services.log_in(EMAIL)
    stored = await services.store.find_by_id(user.id)
    assert stored is not None
    assert stored.password_hash == "$argon2id$set-by-the-reset"
    assert await services.stored_sessions(user.id) == {}
    assert await services.event_types(user.id) == [EventType.USER_REGISTERED]


async def test_a_disabled_account_cannot_log_in(services: ServiceSet) -> None:
    """The right password learns that the account is disabled; a wrong one learns nothing."""
    user = await stored_user(services, CHEAP.hash(PASSWORD), is_active=False)
    with pytest.raises(AccountDisabled):
        await services.log_in(EMAIL)
    with pytest.raises(InvalidCredentials):
        await services.log_in(EMAIL, "not the password at all")
    assert await services.stored_sessions(user.id) == {}
    assert services.recorded == []


async def test_a_disabled_account_has_no_current_user(services: ServiceSet) -> None:
    user = await stored_user(services, CHEAP.hash(PASSWORD), is_active=False)
    issued = int(services.clock.now().timestamp())
    claims = AccessClaims(user.id, "jti", "sid", issued_at=issued, expires_at=issued + 900)
    with pytest.raises(NotAuthenticated):
        await services.accounts.current_user(claims)


async def test_the_current_user_is_the_token_subject(services: ServiceSet) -> None:
    user = await services.sign_up(EMAIL)
    claims = services.claims(await services.log_in(EMAIL))
    assert (await services.accounts.current_user(claims)).id == user.id


async def test_the_account_and_address_limit_refuses_that_address_until_the_window_ends(
    services: ServiceSet,
) -> None:
    await services.sign_up(EMAIL)
    for _ in range(LIMITS.login_account_ip):
        with pytest.raises(InvalidCredentials):
            await services.log_in(EMAIL, WRONG, client_ip="198.51.100.1")
    services.clock.advance(100)
    # Even the right password, from that address: the pair is what is limited...
    with pytest.raises(RateLimited) as limited:
        await services.log_in(EMAIL, client_ip="198.51.100.1")
    assert limited.value.retry_after_seconds == LIMITS.login_window_seconds - 100
    # ...while the owner, elsewhere, is not locked out.
    await services.log_in(EMAIL, client_ip="192.0.2.1")
    services.clock.advance(LIMITS.login_window_seconds - 100)
    await services.log_in(EMAIL, client_ip="198.51.100.1")


async def test_the_ip_limit_spans_accounts(services: ServiceSet) -> None:
    for n in range(LIMITS.login_ip):
        with pytest.raises(InvalidCredentials):
            await services.log_in(f"guess{n}@example.com", WRONG)
    with pytest.raises(RateLimited) as limited:
        await services.log_in("one-more@example.com", WRONG)
    assert limited.value.retry_after_seconds == LIMITS.login_window_seconds
    with pytest.raises(InvalidCredentials):  # another address is not limited
        await services.log_in("one-more@example.com", WRONG, client_ip="192.0.2.1")


async def test_a_successful_login_resets_the_account_count(services: ServiceSet) -> None:
    await services.sign_up(EMAIL)
    for _ in range(LIMITS.login_account_ip - 1):
        with pytest.raises(InvalidCredentials):
            await services.log_in(EMAIL, WRONG)
    await services.log_in(EMAIL)
    for _ in range(LIMITS.login_account_ip):
        with pytest.raises(InvalidCredentials):
            await services.log_in(EMAIL, WRONG)
    with pytest.raises(RateLimited):
        await services.log_in(EMAIL, WRONG)


BCRYPT = CryptContext(schemes=["bcrypt"], bcrypt__rounds=4)
CHEAP = build_context(CHEAPEST_HASHING)
# The upgrade test's hasher wants twice the memory of CHEAP: CHEAP is then the weaker.
STRONGER = dataclasses.replace(CHEAPEST_HASHING, argon2_memory_kib=16)


@pytest.mark.parametrize("legacy", [BCRYPT, CHEAP], ids=["bcrypt", "weaker-argon2"])
async def test_an_outdated_hash_is_upgraded_at_login(
    clock: ManualClock, legacy: CryptContext
) -> None:
    hasher = fast_hasher(STRONGER)
    try:
        services = build_services(clock, hasher)
        await stored_user(services, legacy.hash(PASSWORD))
        await services.log_in(EMAIL)
        upgraded = await stored_hash(services)
        assert upgraded.startswith("$argon2id$v=19$m=16,t=1,p=1$")
        assert await hasher.verify(PASSWORD, upgraded) == VerifyResult(valid=True)
        await services.log_in(EMAIL)
        assert await stored_hash(services) == upgraded
    finally:
        hasher.close()


async def test_a_current_hash_is_left_alone(services: ServiceSet) -> None:
    await services.sign_up(EMAIL)
    before = await stored_hash(services)
    await services.log_in(EMAIL)
    assert await stored_hash(services) == before


async def stored_user(services: ServiceSet, password_hash: str, is_active: bool = True) -> User:
    """A user as an earlier release or an operator left it, written to the store directly."""
    now = services.clock.now()
    user = User(new_user_id(), EMAIL, EMAIL, "ada", password_hash, now, now, is_active=is_active)
    registered = PendingEvent.create(EventType.USER_REGISTERED, user.id, now, {})
    await services.store.create(user, registered)
    return user


async def stored_hash(services: ServiceSet) -> str:
    stored = await services.store.find_by_email(EMAIL)
    assert stored is not None
    return stored.password_hash

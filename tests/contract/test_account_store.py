"""The contract of the account lifecycle's store and the mail outbox, kept by the Mongo
adapter and the in-memory twin alike."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from auth_api.errors import EmailAlreadyRegistered
from auth_api.model.clock import utc_now
from auth_api.model.events import EventType, PendingEvent
from auth_api.model.mail import MailKind, PendingMail
from auth_api.model.one_time_tokens import StoredToken, TokenPurpose
from auth_api.model.user import User
from auth_api.store.account_ports import AccountChange, AccountState, Welcome
from auth_api.store.memory import MemoryUserStore
from auth_api.store.mongo import MongoUserStore
from auth_api.store.ports import LoginRecord
from tests.contract.test_user_store import event, make_session, make_user

Store = MemoryUserStore | MongoUserStore
VERIFY = TokenPurpose.VERIFY_EMAIL


def token(hash_: str = "h1") -> StoredToken:
    return StoredToken(hash_, utc_now() + timedelta(hours=1))


def mail(to: str | None = None) -> PendingMail:
    now = utc_now()
    return PendingMail.create(
        MailKind.VERIFY_EMAIL, to, now, now + timedelta(hours=1), {"nonce": "n"}
    )


async def created(store: Store, email: str = "a@example.com") -> User:
    user = make_user(email)
    await store.create(user, event(user), Welcome(VERIFY, token(), mail()))
    return user


async def test_a_new_account_keeps_its_welcome_token_and_mail(user_store: Store) -> None:
    user = await created(user_store)
    record = await user_store.account(user.id)
    assert record is not None
    assert record.tokens[VERIFY].hash == "h1"
    [pending] = await user_store.pending_mails(10)
    assert (pending.user_id, pending.address, pending.display_name) == (user.id, user.email, "A")
    assert [m.kind for m in pending.mails] == [MailKind.VERIFY_EMAIL]
    await user_store.remove_mails(user.id, [pending.mails[0].id])
    await user_store.remove_mails(user.id, [pending.mails[0].id])  # harmless twice
    assert await user_store.pending_mails(10) == []
    assert await user_store.mail_backlog() == 0


async def test_a_change_writes_fields_tokens_events_and_mails_together(user_store: Store) -> None:
    user = await created(user_store)
    now = utc_now()
    verified = PendingEvent.create(
        EventType.USER_EMAIL_VERIFIED, user.id, now, {"user_id": user.id}
    )
    notice = mail("old@example.com")

    def decide(state: AccountState) -> AccountChange:
        assert state.tokens[VERIFY].hash == "h1"
        return AccountChange(
            fields={"email_verified": True, "email_verified_at": now},
            tokens={VERIFY: None},
            events=[verified],
            mails=[notice],
        )

    assert await user_store.change_account(user.id, decide) is not None
    record = await user_store.account(user.id)
    assert record is not None
    assert (record.user.email_verified, record.user.email_verified_at) == (True, now)
    assert record.tokens == {}
    assert [e.id for e in record.events][-1] == verified.id
    assert [m.id for m in record.mails][-1] == notice.id
    pending = await user_store.pending_of(user.id)
    assert pending is not None
    assert pending.events[-1].id == verified.id


async def test_a_declined_change_writes_nothing(user_store: Store) -> None:
    user = await created(user_store)
    assert await user_store.change_account(user.id, lambda state: None) is None
    assert await user_store.change_account("missing", lambda state: AccountChange()) is None
    record = await user_store.account(user.id)
    assert record is not None
    assert record.tokens[VERIFY].hash == "h1"


async def test_concurrent_spends_of_one_token_succeed_once(user_store: Store) -> None:
    user = await created(user_store)

    def spend(state: AccountState) -> AccountChange | None:
        if VERIFY not in state.tokens:
            return None
        return AccountChange(fields={"email_verified": True}, tokens={VERIFY: None})

    results = await asyncio.gather(*(user_store.change_account(user.id, spend) for _ in range(8)))
    assert sum(r is not None for r in results) == 1


async def test_taking_another_accounts_address_is_refused(user_store: Store) -> None:
    first = await created(user_store, "a@example.com")
    second = await created(user_store, "b@example.com")

    def take(state: AccountState) -> AccountChange:
        return AccountChange(fields={"email": "A@example.com", "email_normalized": "a@example.com"})

    with pytest.raises(EmailAlreadyRegistered):
        await user_store.change_account(second.id, take)
    assert await user_store.find_by_email("b@example.com") is not None
    found = await user_store.find_by_email("a@example.com")
    assert found is not None
    assert found.id == first.id


async def test_two_accounts_moving_to_one_free_address_get_it_once(user_store: Store) -> None:
    users = [await created(user_store, f"{n}@example.com") for n in "abcd"]

    def move(state: AccountState) -> AccountChange:
        return AccountChange(fields={"email": "x@example.com", "email_normalized": "x@example.com"})

    results = await asyncio.gather(
        *(user_store.change_account(u.id, move) for u in users), return_exceptions=True
    )
    assert sum(isinstance(r, AccountChange) for r in results) == 1
    assert all(
        isinstance(r, EmailAlreadyRegistered) for r in results if not isinstance(r, AccountChange)
    )
    owner = await user_store.find_by_email("x@example.com")
    assert owner is not None


async def test_issuing_by_address_touches_only_that_account(user_store: Store) -> None:
    user = await created(user_store)
    reset = TokenPurpose.RESET_PASSWORD
    assert await user_store.issue_by_email("nobody@example.com", reset, token("r"), mail()) is None
    assert await user_store.issue_by_email("a@example.com", reset, token("r"), mail()) == user.id
    record = await user_store.account(user.id)
    assert record is not None
    assert record.tokens[reset].hash == "r"
    assert len(record.mails) == 2
    assert await user_store.mail_backlog() == 2


def checked_login(user: User) -> LoginRecord:
    session = make_session()
    logged_in = event(user, EventType.USER_LOGGED_IN)
    return LoginRecord(
        user.id, session.created_at, logged_in, None, session, checked_hash=user.password_hash
    )


@pytest.mark.parametrize(
    "change",
    [
        {"password_hash": "$argon2id$after-a-reset"},
        {"is_active": False},
        {"deleted_at": utc_now(), "is_active": False, "password_hash": ""},
    ],
    ids=["password-replaced", "disabled", "deleted"],
)
async def test_a_login_checked_before_a_change_writes_nothing_after_it(
    user_store: Store, change: dict[str, object]
) -> None:
    """A reset, a disable or a deletion between a login's password check and its write
    wins: the login opens no session, records no event, and leaves the new state alone."""
    user = await created(user_store)
    login = checked_login(user)  # the password was checked against this hash ...
    await user_store.change_account(user.id, lambda _: AccountChange(fields=change))  # ... then
    before = await user_store.account(user.id)
    assert not await user_store.record_login(login)
    after = await user_store.account(user.id)
    assert before is not None
    assert after is not None
    assert (after.user, after.events) == (before.user, before.events)
    assert await user_store.sessions_of(user.id) == {}


async def test_a_login_on_an_unchanged_account_is_written(user_store: Store) -> None:
    user = await created(user_store)
    login = checked_login(user)
    assert await user_store.record_login(login)
    assert list((await user_store.sessions_of(user.id) or {}).keys()) == [login.session.id]


async def test_no_link_is_issued_to_a_disabled_account(user_store: Store) -> None:
    user = await created(user_store)
    await user_store.change_account(user.id, lambda _: AccountChange(fields={"is_active": False}))
    before = await user_store.account(user.id)
    issued = await user_store.issue_by_email(
        user.email_normalized, TokenPurpose.RESET_PASSWORD, token("reset"), mail()
    )
    assert issued is None
    assert await user_store.account(user.id) == before


async def test_a_tombstone_is_not_found_by_its_placeholder_address(user_store: Store) -> None:
    user = await created(user_store)
    tombstone = {"email_normalized": f"deleted:{user.id}", "deleted_at": utc_now()}
    await user_store.change_account(user.id, lambda _: AccountChange(fields=tombstone))
    assert await user_store.find_by_email(f"deleted:{user.id}") is None

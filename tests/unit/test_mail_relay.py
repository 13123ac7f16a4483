"""The mail relay over the in-memory twins and a manual clock: mails are removed only
once sent, an outage pauses without losing anything, refused mails wait, expired ones go."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from auth_api.mail.mailer import MailFailed, MemoryMailer, OutgoingMail
from auth_api.mail.relay import MailIdentity, MailRelay
from auth_api.model.events import EventType, PendingEvent
from auth_api.model.mail import MailKind, PendingMail
from auth_api.model.one_time_tokens import OneTimeTokens, TokenPurpose, hash_secret
from auth_api.model.user import User, new_user_id
from auth_api.store.account_ports import Welcome
from auth_api.store.memory import MemoryUserStore
from tests.support.clock import ManualClock
from tests.support.polling import eventually

IDENTITY = MailIdentity("quizauth <no-reply@example.org>", "quizauth", "https://auth.example.org")
TOKENS = OneTimeTokens(b"unit-test mail token key, 32 bytes or more")


async def user_with_mail(store: MemoryUserStore, clock: ManualClock) -> tuple[User, str]:
    now = clock.now()
    user = User(new_user_id(), "Ada@example.com", "ada@example.com", "Ada", "h", now, now)
    minted = TOKENS.mint(TokenPurpose.VERIFY_EMAIL, now)
    mail = PendingMail.create(
        MailKind.VERIFY_EMAIL, None, now, minted.stored.expires_at, {"nonce": minted.nonce}
    )
    event = PendingEvent.create(EventType.USER_REGISTERED, user.id, now, {"user_id": user.id})
    await store.create(user, event, Welcome(TokenPurpose.VERIFY_EMAIL, minted.stored, mail))
    return user, minted.stored.hash


def relay_of(store: MemoryUserStore, mailer: object, clock: ManualClock) -> MailRelay:
    return MailRelay(store, mailer, TOKENS, IDENTITY, clock=clock)  # type: ignore[arg-type]


async def test_a_sent_mail_carries_a_link_whose_token_matches_the_stored_hash() -> None:
    clock, store, mailer = ManualClock(), MemoryUserStore(), MemoryMailer()
    user, stored_hash = await user_with_mail(store, clock)
    assert await relay_of(store, mailer, clock).drain_once() == 1
    [sent] = mailer.sent
    assert (sent.to, sent.sender) == ("Ada@example.com", IDENTITY.sender)
    assert sent.link is not None
    assert sent.link.startswith("https://auth.example.org/#/verify-email?token=")
    token = sent.link.rpartition("token=")[2]
    user_id, _, secret = token.partition(".")
    assert (user_id, hash_secret(secret)) == (user.id, stored_hash)
    message = sent.message()
    assert message.get_content_type() == "multipart/alternative"
    assert message["Auto-Submitted"] == "auto-generated"
    assert await store.mail_backlog() == 0


async def test_an_outage_pauses_delivery_and_loses_nothing() -> None:
    clock, store, mailer = ManualClock(), MemoryUserStore(), MemoryMailer(down=True)
    await user_with_mail(store, clock)
    relay = relay_of(store, mailer, clock)
    for _ in range(3):
        with pytest.raises(MailFailed):
            await relay.drain_once()
    assert (relay.failed, await store.mail_backlog()) == (3, 1)
    mailer.down = False
    assert await relay.drain_once() == 1
    assert await store.mail_backlog() == 0


class RefusingMailer:
    def __init__(self) -> None:
        self.attempts = 0

    async def send(self, mail: OutgoingMail) -> None:
        self.attempts += 1
        raise MailFailed("550 no such mailbox", permanent=True)

    async def close(self) -> None:
        return None


async def test_a_refused_mail_waits_then_is_tried_again_until_it_expires() -> None:
    clock, store, mailer = ManualClock(), MemoryUserStore(), RefusingMailer()
    await user_with_mail(store, clock)
    relay = relay_of(store, mailer, clock)
    await relay.drain_once()
    await relay.drain_once()  # refused for good: not tried again at once
    assert mailer.attempts == 1
    clock.advance(601)
    await relay.drain_once()
    assert mailer.attempts == 2
    assert await store.mail_backlog() == 1
    clock.advance(timedelta(hours=24).total_seconds())
    await relay.drain_once()  # its link expired: sending it would help nobody
    assert (mailer.attempts, relay.expired, await store.mail_backlog()) == (2, 1, 0)


async def test_after_a_failure_the_waiting_users_are_retried_by_id_not_by_a_sweep() -> None:
    clock, store, mailer = ManualClock(), MemoryUserStore(), MemoryMailer(down=True)
    sweeps: list[int] = []
    sweep = store.pending_mails

    async def counted_sweep(limit: int) -> Any:
        sweeps.append(limit)
        return await sweep(limit)

    store.pending_mails = counted_sweep  # type: ignore[method-assign]
    relay = relay_of(store, mailer, clock)
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: len(sweeps) == 1, 5, "the first sweep")  # at start
        user, _ = await user_with_mail(store, clock)
        relay.notify(user.id)
        await eventually(lambda: relay.failed >= 2, 10, "two failed attempts")
        mailer.down = False
        await eventually(lambda: len(mailer.sent) == 1, 10, "the mail, once the server is up")
    finally:
        relay.stop()
        await asyncio.wait_for(task, 5)
    assert len(sweeps) == 1
    assert await store.mail_backlog() == 0

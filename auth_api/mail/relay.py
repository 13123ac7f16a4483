"""Sends the mails recorded in the users' documents, and removes each only after the SMTP
server accepted it. With the server down, mails wait and the relay backs off; a crash
between the send and the removal sends that mail again (at least once, never lost).
A mail the server refuses for good is tried again now and then, until it expires."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from auth_api.errors import DependencyUnavailable
from auth_api.mail.mailer import Mailer, MailFailed, OutgoingMail
from auth_api.mail.templates import render
from auth_api.model.clock import SYSTEM_CLOCK, Clock
from auth_api.model.mail import MailKind, PendingMail
from auth_api.model.one_time_tokens import OneTimeTokens, TokenPurpose
from auth_api.store.account_ports import MailOutbox, UserMails
from auth_api.workers.relay_loop import RelayLoop

log = logging.getLogger("auth_api.mail")

# The token a mail's link carries, by kind; notices carry none.
LINK_PURPOSES = {
    MailKind.VERIFY_EMAIL: TokenPurpose.VERIFY_EMAIL,
    MailKind.PASSWORD_RESET: TokenPurpose.RESET_PASSWORD,
    MailKind.EMAIL_CHANGE_CONFIRM: TokenPurpose.CHANGE_EMAIL,
}


@dataclass(frozen=True)
class MailIdentity:
    sender: str  # the From header
    service: str  # the name the mails give the service
    public_url: str  # where the links point


@dataclass(frozen=True)
class MailRelayTuning:
    batch_users: int = 100
    # The sweep finds mails no notification pointed at: a process died after recording
    # them. It reads every user with unsent mail (an index on MongoDB, the whole
    # collection on the stack's stand-in), so it is rare; the users whose mails failed
    # are retried by id, without it.
    sweep_seconds: float = 300.0
    max_backoff_seconds: float = 30.0
    refused_retry_seconds: float = 600.0


class MailRelay(RelayLoop):
    expected_failures = (MailFailed, DependencyUnavailable)

    def __init__(
        self,
        outbox: MailOutbox,
        mailer: Mailer,
        tokens: OneTimeTokens,
        identity: MailIdentity,
        tuning: MailRelayTuning | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._tuning = tuning or MailRelayTuning()
        super().__init__("mail relay", self._tuning.max_backoff_seconds, log)
        self._outbox = outbox
        self._mailer = mailer
        self._tokens = tokens
        self._identity = identity
        self._clock = clock
        # Users whose delivery a failure interrupted, this round or an earlier one.
        self._retry: set[str] = set()
        self._last_sweep = float("-inf")
        self._refused_until: dict[str, float] = {}
        self.sent = 0
        self.failed = 0
        self.expired = 0

    def _after_failure(self) -> None:
        self._hinted |= self._retry  # the users whose mails wait: tried again by id
        self._retry = set()

    async def _next_round(self) -> None:
        until_sweep = self._last_sweep + self._tuning.sweep_seconds - self._clock.monotonic()
        if until_sweep <= 0:
            self._hinted.clear()
            self._last_sweep = self._clock.monotonic()
            await self.drain_once()
        elif self._hinted:
            users, self._hinted = self._hinted, set()
            self._retry |= users  # until each is done: a failure leaves the rest waiting
            for user_id in users:
                if (batch := await self._outbox.pending_mails_of(user_id)) is not None:
                    await self._send_all(batch)
                self._retry.discard(user_id)
        else:
            await self._sleep(until_sweep)

    async def drain_once(self) -> int:
        """Send what is pending now; the number of mails sent. MailFailed when the
        server is unreachable (what was sent before stays sent)."""
        before = self.sent
        for batch in await self._outbox.pending_mails(self._tuning.batch_users):
            await self._send_all(batch)
        return self.sent - before

    async def _send_all(self, batch: UserMails) -> None:
        try:
            for mail in batch.mails:
                await self._send_one(batch, mail)
        except (MailFailed, DependencyUnavailable):
            self._retry.add(batch.user_id)
            raise

    async def _send_one(self, batch: UserMails, mail: PendingMail) -> None:
        now = self._clock.now()
        address = mail.to or batch.address
        if now >= mail.expires_at or not address:
            await self._outbox.remove_mails(batch.user_id, [mail.id])
            self.expired += 1
            log.warning("mail relay: mail %s (%s) expired unsent", mail.id, mail.kind)
            return
        if self._refused_until.get(mail.id, float("-inf")) > self._clock.monotonic():
            return
        try:
            await self._mailer.send(self._outgoing(batch, mail, address))
        except MailFailed as exc:
            self.failed += 1
            if not exc.permanent:
                raise
            self._refuse(mail, str(exc))
            return
        except KeyError:  # a kind a newer release recorded: leave it for that release
            self._refuse(mail, "unknown kind")
            return
        self.sent += 1
        await self._outbox.remove_mails(batch.user_id, [mail.id])

    def _refuse(self, mail: PendingMail, why: str) -> None:
        retry_at = self._clock.monotonic() + self._tuning.refused_retry_seconds
        self._refused_until[mail.id] = retry_at
        log.warning("mail relay: mail %s (%s) not sent: %s", mail.id, mail.kind, why)

    def _outgoing(self, batch: UserMails, mail: PendingMail, address: str) -> OutgoingMail:
        identity = self._identity
        purpose = LINK_PURPOSES.get(MailKind(mail.kind)) if mail.kind in set(MailKind) else None
        nonce = mail.params.get("nonce")
        token = self._tokens.token(purpose, batch.user_id, nonce) if purpose and nonce else None
        rendered = render(
            str(mail.kind),
            service=identity.service,
            public_url=identity.public_url,
            name=batch.display_name or address.partition("@")[0],
            token=token,
            new_email=mail.params.get("new_email", ""),
        )
        return OutgoingMail(
            mail.id,
            str(mail.kind),
            identity.sender,
            address,
            rendered.subject,
            rendered.text,
            rendered.html,
            rendered.link,
        )

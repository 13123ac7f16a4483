"""Which mailer the settings call for, and the relay over it."""

from __future__ import annotations

import hmac
import logging

from auth_api.mail.mailer import Mailer, MemoryMailer, UnreachableMailer
from auth_api.mail.relay import MailIdentity, MailRelay
from auth_api.mail.smtp import SmtpMailer, SmtpServer
from auth_api.model.clock import SYSTEM_CLOCK, Clock
from auth_api.model.one_time_tokens import OneTimeTokens
from auth_api.settings import Environment, Settings
from auth_api.store.account_ports import MailOutbox

log = logging.getLogger(__name__)
# Where the links in mails point when AUTH_PUBLIC_URL is unset: `make run`'s address.
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


def build_mailer(settings: Settings) -> Mailer:
    if settings.smtp_url is not None:
        server = SmtpServer.parse(settings.smtp_url.get_secret_value())
        return SmtpMailer(server, settings.smtp_timeout_seconds)
    if settings.embedded or settings.env is not Environment.PRODUCTION:
        log.warning("AUTH_SMTP_URL is unset: mails are kept in memory and their links logged")
        return MemoryMailer()
    log.warning("AUTH_SMTP_URL is unset: mails are recorded but not sent")
    return UnreachableMailer()


def build_mail_relay(
    settings: Settings,
    outbox: MailOutbox,
    mailer: Mailer,
    tokens: OneTimeTokens,
    clock: Clock = SYSTEM_CLOCK,
) -> MailRelay:
    public_url = settings.public_url or DEFAULT_PUBLIC_URL
    if settings.public_url is None:
        log.warning("AUTH_PUBLIC_URL is unset: the links in mails point at %s", public_url)
    identity = MailIdentity(settings.mail_from, settings.mail_service_name, public_url)
    return MailRelay(outbox, mailer, tokens, identity, clock=clock)


def mail_tokens(rotation_key: bytes) -> OneTimeTokens:
    """A key of its own for the tokens sent by mail, derived from the refresh-rotation
    key (itself derived from AUTH_JWT_SECRET, or generated and kept in the store)."""
    return OneTimeTokens(hmac.new(rotation_key, b"quizauth mail tokens", "sha256").digest())

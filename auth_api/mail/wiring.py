"""Which mailer the settings call for, and the relay over it."""

from __future__ import annotations

import logging

from auth_api.mail.mailer import Mailer, MemoryMailer, UnreachableMailer
from auth_api.mail.relay import MailIdentity, MailRelay
from auth_api.mail.smtp import SmtpMailer, SmtpServer
from auth_api.model.clock import SYSTEM_CLOCK, Clock
from auth_api.model.one_time_tokens import OneTimeTokens
from auth_api.settings import Environment, Settings
from auth_api.store.account_ports import MailOutbox

log = logging.getLogger(__name__)


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
    settings: Settings, outbox: MailOutbox, mailer: Mailer, clock: Clock = SYSTEM_CLOCK
) -> MailRelay:
    identity = MailIdentity(settings.mail_from, settings.mail_service_name, settings.public_url)
    return MailRelay(outbox, mailer, mail_tokens(settings), identity, clock=clock)


def mail_tokens(settings: Settings) -> OneTimeTokens:
    return OneTimeTokens(settings.mail_token_key)

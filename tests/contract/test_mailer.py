"""The contract of a mailer: the in-memory one and SMTP to the real mail catcher both
take a mail with its text and HTML parts, and an unreachable server is a MailFailed that
may pass (not permanent)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from auth_api.mail.mailer import Mailer, MailFailed, MemoryMailer, OutgoingMail
from auth_api.mail.smtp import SmtpMailer, SmtpServer
from infra.stack_lib.api import free_port
from tests.support.mailbox import Mailbox, MailpitMailbox, MemoryMailbox, wait_for_mail
from tests.support.servers import Servers


@dataclass
class Pair:
    mailer: Mailer
    mailbox: Mailbox
    unreachable: Mailer


@pytest.fixture(params=["memory", "smtp"])
async def pair(request: pytest.FixtureRequest) -> AsyncIterator[Pair]:
    if request.param == "memory":
        memory = MemoryMailer()
        yield Pair(memory, MemoryMailbox(memory), MemoryMailer(down=True))
        return
    servers: Servers = request.getfixturevalue("servers")
    closed = SmtpServer.parse(f"smtp://127.0.0.1:{free_port()}")
    yield Pair(
        SmtpMailer(SmtpServer.parse(servers.smtp_url), 10),
        MailpitMailbox(servers.mail_api),
        SmtpMailer(closed, 2),
    )


def outgoing(to: str) -> OutgoingMail:
    return OutgoingMail(
        str(uuid.uuid4()),
        "verify_email",
        "quizauth <no-reply@example.org>",
        to,
        "Confirm your email address for quizauth",
        "Hello,\n\nhttps://auth.example.org/#/verify-email?token=u.s\n",
        '<p>Hello,</p><p><a href="https://auth.example.org/#/verify-email?token=u.s">go</a></p>',
        "https://auth.example.org/#/verify-email?token=u.s",
    )


async def test_a_sent_mail_arrives_with_both_parts(pair: Pair) -> None:
    to = f"contract.{uuid.uuid4().hex[:10]}@example.com"
    await pair.mailer.send(outgoing(to))
    received = await wait_for_mail(pair.mailbox, to, "verify_email")
    assert received.subject == "Confirm your email address for quizauth"
    assert received.token == "u.s"
    assert 'href="https://auth.example.org/#/verify-email?token=u.s"' in received.html


async def test_an_unreachable_server_is_a_passing_failure(pair: Pair) -> None:
    with pytest.raises(MailFailed) as failure:
        await pair.unreachable.send(outgoing("nobody@example.com"))
    assert failure.value.permanent is False

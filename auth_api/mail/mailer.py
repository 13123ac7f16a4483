"""Where the relay hands mails: an SMTP server (smtp.py), or in embedded mode this
process's memory, with each mail's link logged at INFO."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol

log = logging.getLogger("auth_api.mail")


class MailFailed(Exception):
    """The server did not take the mail. `permanent`: it refused this mail for good
    (a 5xx for its recipient, say); otherwise it may take it later (down, 4xx)."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class OutgoingMail:
    id: str
    kind: str
    sender: str
    to: str
    subject: str
    text: str
    html: str
    link: str | None = None

    def message(self) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = self.to
        message["Subject"] = self.subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(idstring=self.id.replace("-", ""))
        # RFC 3834: an automatic mail; auto-responders should not answer it.
        message["Auto-Submitted"] = "auto-generated"
        message["X-Quizauth-Mail"] = self.kind
        message.set_content(self.text)
        message.add_alternative(self.html, subtype="html")
        return message


class Mailer(Protocol):
    async def send(self, mail: OutgoingMail) -> None:
        """Return once the server accepted the mail; MailFailed otherwise."""

    async def close(self) -> None: ...


@dataclass
class MemoryMailer:
    """Embedded mode's mail server: keeps what was sent, and logs its link, so that a
    developer can follow it. `down` makes it refuse, like a server that is away."""

    sent: list[OutgoingMail] = field(default_factory=list)
    down: bool = False

    async def send(self, mail: OutgoingMail) -> None:
        if self.down:
            raise MailFailed("the in-process mail server is down")
        self.sent.append(mail)
        log.info("mail %s to %s: %s %s", mail.kind, mail.to, mail.subject, mail.link or "")

    async def close(self) -> None:
        return None


class UnreachableMailer:
    """No SMTP server configured: mails stay recorded until one is."""

    async def send(self, mail: OutgoingMail) -> None:
        raise MailFailed("no SMTP server configured (AUTH_SMTP_URL)")

    async def close(self) -> None:
        return None

"""Sending over SMTP with aiosmtplib. One connection per mail: mails are few, and a
fresh connection has no state to go stale across a server restart.

AUTH_SMTP_URL: `smtp://[user:password@]host[:port]` (port 25; STARTTLS when the server
offers it), `smtp+starttls://...` (STARTTLS required, port 587) or `smtps://...`
(implicit TLS, port 465)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import aiosmtplib

from auth_api.mail.mailer import MailFailed, OutgoingMail

SCHEMES = {
    "smtp": (25, False, None),
    "smtp+starttls": (587, False, True),
    "smtps": (465, True, False),
}


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    use_tls: bool
    start_tls: bool | None  # None: when offered
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise ValueError(
                "AUTH_SMTP_URL must be smtp://, smtp+starttls:// or smtps://host[:port]"
            )
        default_port, use_tls, start_tls = SCHEMES[parts.scheme]
        return cls(
            host=parts.hostname,
            port=parts.port or default_port,
            use_tls=use_tls,
            start_tls=start_tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


class SmtpMailer:
    def __init__(self, server: SmtpServer, timeout_seconds: float) -> None:
        self._server = server
        self._timeout = timeout_seconds

    async def send(self, mail: OutgoingMail) -> None:
        server = self._server
        try:
            await aiosmtplib.send(
                mail.message(),
                hostname=server.host,
                port=server.port,
                username=server.username,
                password=server.password,
                use_tls=server.use_tls,
                start_tls=server.start_tls,
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [error.code for error in exc.recipients]
            raise MailFailed(
                f"recipient refused: {codes}", permanent=all(c >= 500 for c in codes)
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise MailFailed(f"SMTP {exc.code}: {exc.message}", permanent=exc.code >= 500) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise MailFailed(f"SMTP server unreachable: {exc!r}") from exc

    async def close(self) -> None:
        return None

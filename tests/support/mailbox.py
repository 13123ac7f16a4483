"""Reading the mails the service sent, as a person reads an inbox: from the mail
catcher's HTTP API (Mailpit) on the real servers, or from the in-process mailer in
embedded mode."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import unquote

import httpx

from auth_api.mail.mailer import MemoryMailer
from tests.support.polling import eventually

LINK = re.compile(r"https?://\S+/#/(?P<route>[a-z-]+)\?token=(?P<token>[^\s&\"<]+)")


@dataclass(frozen=True)
class ReceivedMail:
    to: str
    subject: str
    kind: str
    text: str
    html: str

    @property
    def link(self) -> str:
        found = LINK.search(self.text)
        assert found, f"no link in the mail:\n{self.text}"
        return found.group(0)

    @property
    def route(self) -> str:
        found = LINK.search(self.text)
        assert found
        return found.group("route")

    @property
    def token(self) -> str:
        found = LINK.search(self.text)
        assert found, f"no link in the mail:\n{self.text}"
        return unquote(found.group("token"))


class Mailbox(Protocol):
    async def messages_to(self, address: str) -> list[ReceivedMail]:
        """Every mail to `address`, oldest first."""


class MemoryMailbox:
    def __init__(self, mailer: MemoryMailer) -> None:
        self._mailer = mailer

    async def messages_to(self, address: str) -> list[ReceivedMail]:
        return [
            ReceivedMail(m.to, m.subject, m.kind, m.text, m.html)
            for m in self._mailer.sent
            if m.to.lower() == address.lower()
        ]


class MailpitMailbox:
    """Mailpit's API: /api/v1/search?query=to:ADDR, /api/v1/message/{ID} (Text, HTML)
    and /api/v1/message/{ID}/headers."""

    def __init__(self, api_url: str) -> None:
        self._api = api_url.rstrip("/")

    async def messages_to(self, address: str) -> list[ReceivedMail]:
        async with httpx.AsyncClient(base_url=self._api, timeout=10) as client:
            found = await client.get("/api/v1/search", params={"query": f'to:"{address}"'})
            found.raise_for_status()
            summaries = sorted(found.json()["messages"], key=lambda m: m["Created"])
            return [await self._read(client, s["ID"]) for s in summaries]

    async def _read(self, client: httpx.AsyncClient, message_id: str) -> ReceivedMail:
        message = (await client.get(f"/api/v1/message/{message_id}")).json()
        headers = (await client.get(f"/api/v1/message/{message_id}/headers")).json()
        return ReceivedMail(
            to=message["To"][0]["Address"],
            subject=message["Subject"],
            kind=headers.get("X-Quizauth-Mail", [""])[0],
            text=message["Text"],
            html=message["HTML"],
        )


async def wait_for_mail(
    mailbox: Mailbox, address: str, kind: str, count: int = 1, seconds: float = 20
) -> ReceivedMail:
    """The `count`-th mail of `kind` to `address`, once it has arrived."""
    found: list[ReceivedMail] = []

    async def arrived() -> bool:
        found[:] = [m for m in await mailbox.messages_to(address) if m.kind == kind]
        return len(found) >= count

    await eventually(arrived, seconds, f"mail #{count} of kind {kind} to {address}")
    return found[count - 1]

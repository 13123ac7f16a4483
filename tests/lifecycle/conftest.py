"""The lifecycle flows over HTTP, against the embedded backends and the real servers;
mails are read back from the mailer the app sends them to."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from auth_api.app import create_app
from auth_api.container import Container
from auth_api.mail.mailer import MemoryMailer
from auth_api.model.events import encode
from auth_api.settings import Settings
from tests.conftest import running
from tests.support.api import PASSWORD, bearer, login, register, unique_email
from tests.support.mailbox import (
    Mailbox,
    MailpitMailbox,
    MemoryMailbox,
    ReceivedMail,
    wait_for_mail,
)
from tests.support.servers import Servers


@dataclass
class Account:
    id: str
    email: str
    token: str
    refresh_token: str
    password: str = PASSWORD

    @property
    def auth(self) -> dict[str, str]:
        return bearer(self.token)


@dataclass
class Life:
    client: httpx.AsyncClient
    app: FastAPI
    mailbox: Mailbox

    @property
    def container(self) -> Container:
        container: Container = self.app.state.container
        return container

    async def account(self, email: str | None = None) -> Account:
        email = email or unique_email()
        created = await register(self.client, email)
        assert created.status_code == 201, created.text
        tokens = (await login(self.client, email)).json()
        return Account(created.json()["id"], email, tokens["access_token"], tokens["refresh_token"])

    async def mail(self, to: str, kind: str, count: int = 1) -> ReceivedMail:
        return await wait_for_mail(self.mailbox, to, kind, count)

    async def events(self, user_id: str) -> list[tuple[str, dict[str, Any]]]:
        """The user's events (type, data), delivered or not: the embedded broker keeps
        what it was given, the real servers' outbox what is pending."""
        publisher = self.container.backends.publisher
        sent = [
            json.loads(m.value)
            for m in getattr(publisher, "messages", [])
            if m.key == user_id.encode()
        ]
        record = await self.container.backends.accounts.account(user_id)
        pending = [json.loads(encode(e)) for e in record.events] if record else []
        return [(e["type"], e["data"]) for e in sent + pending]

    async def event_types(self, user_id: str) -> list[str]:
        return [type_ for type_, _ in await self.events(user_id)]


@pytest.fixture(params=["embedded", "real"])
def mode(request: pytest.FixtureRequest) -> str:
    """Embedded: in-process backends and mailer. Real: MongoDB, Redis, and mails over
    SMTP to the mail catcher, read back through its HTTP API."""
    return str(request.param)


@pytest.fixture
def life_settings(mode: str, request: pytest.FixtureRequest) -> Callable[..., Settings]:
    if mode == "embedded":
        factory: Callable[..., Settings] = request.getfixturevalue("make_settings")
        extra: dict[str, Any] = {}
    else:
        factory = request.getfixturevalue("real_settings")
        servers: Servers = request.getfixturevalue("servers")
        extra = {"smtp_url": servers.smtp_url}

    def build(**overrides: Any) -> Settings:
        # The relay delivers nothing to Kafka here, so the outbox keeps what a test reads.
        return factory(**{"kafka_bootstrap": None, **extra, **overrides})

    return build


@pytest.fixture
def mailbox_for(mode: str, request: pytest.FixtureRequest) -> Callable[[FastAPI], Mailbox]:
    def mailbox(app: FastAPI) -> Mailbox:
        if mode == "embedded":
            mailer = app.state.container.mailer
            assert isinstance(mailer, MemoryMailer)
            return MemoryMailbox(mailer)
        servers: Servers = request.getfixturevalue("servers")
        return MailpitMailbox(servers.mail_api)

    return mailbox


@pytest.fixture
def start_life(
    life_settings: Callable[..., Settings], mailbox_for: Callable[[FastAPI], Mailbox]
) -> Callable[..., Any]:
    """A Life with settings of the test's own, as an async context manager."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[Life]:
        app = create_app(life_settings(**overrides))
        async with running(app) as client:
            yield Life(client, app, mailbox_for(app))

    return start


@pytest.fixture
async def life(start_life: Callable[..., Any]) -> AsyncIterator[Life]:
    async with start_life() as started:
        yield started

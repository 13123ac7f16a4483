"""An app on both backends (embedded, and the real servers) with an admin in it: the
first admin is made as the command line makes it, through the admin service."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from auth_api.admin.service import CLI
from auth_api.app import create_app
from auth_api.settings import Settings
from tests.conftest import running
from tests.support.api import bearer, login, register, unique_email

CLIENT_ID, CLIENT_SECRET = "quiz-service", "introspection-secret-0123456789"
ROLES = {"quizmaster": ["quiz.write", "quiz.grade"], "reviewer": ["quiz.read"]}


@dataclass
class Member:
    id: str
    email: str
    tokens: dict[str, Any]

    @property
    def auth(self) -> dict[str, str]:
        return bearer(self.tokens["access_token"])


@dataclass
class AdminWorld:
    app: FastAPI
    api: httpx.AsyncClient
    admin: Member

    async def member(self, tag: str = "member") -> Member:
        email = unique_email(tag)
        response = await register(self.api, email)
        assert response.status_code == 201, response.text
        return Member(response.json()["id"], email, await self.tokens(email))

    async def tokens(self, email: str) -> dict[str, Any]:
        response = await login(self.api, email)
        assert response.status_code == 200, response.text
        tokens: dict[str, Any] = response.json()
        return tokens

    async def promote(self, member: Member, *roles: str) -> Member:
        """Roles given as the command line gives them, and a fresh login to carry them."""
        await self.app.state.container.services.admin.set_roles(CLI, member.id, roles)
        member.tokens = await self.tokens(member.email)
        return member

    async def introspect(self, token: str) -> dict[str, Any]:
        basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        response = await self.api.post(
            "/auth/introspect", data={"token": token}, headers={"Authorization": f"Basic {basic}"}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def stored(self, user_id: str) -> dict[str, Any]:
        """The user as the admin API shows it: what a refusal must leave unchanged."""
        response = await self.api.get(f"/admin/users/{user_id}", headers=self.admin.auth)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def admin_settings(factory: Callable[..., Settings], **overrides: Any) -> Settings:
    return factory(
        roles=ROLES,
        introspection_clients=[f"{CLIENT_ID}:{CLIENT_SECRET}"],
        # A throttled account in three attempts, and no slowdown on the way there.
        login_account_ip_limit=3,
        login_delay_after_failures=10,
        **overrides,
    )


@pytest.fixture
async def world(api_settings: Callable[..., Settings]) -> AsyncIterator[AdminWorld]:
    app = create_app(admin_settings(api_settings))
    async with running(app) as api:
        world = AdminWorld(app, api, Member("", "", {}))
        world.admin = await world.promote(await world.member("admin"), "admin")
        yield world

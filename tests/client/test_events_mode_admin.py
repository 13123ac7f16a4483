"""quizauth_client's events mode against the admin's changes: a role change and a
disable reach a quiz app that has only the JWKS URL and Kafka, through the same
`user.tokens_revoked` cut-off as a logout everywhere."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from auth_api.settings import Settings
from auth_api.tokens.key_directory import KeyDirectory
from tests.admin.cli import cli_environment, users_command
from tests.admin.conftest import admin_settings
from tests.client.test_events_mode import events_of, events_quiz, refused, status_of
from tests.client.test_quiz_client import auth_service
from tests.support.api import bearer, login, register, unique_email
from tests.support.servers import Servers

pytestmark = pytest.mark.integration
SettingsFactory = Callable[..., Settings]
ADMIN_PASSWORD = "the events admin's passphrase"


async def member(auth: httpx.AsyncClient) -> tuple[str, str]:
    """A new user's id and access token."""
    email = unique_email("member")
    user_id: str = (await register(auth, email)).json()["id"]
    return user_id, (await login(auth, email)).json()["access_token"]


async def test_a_role_change_and_a_disable_reach_an_events_mode_quiz_app(
    real_settings: SettingsFactory, servers: Servers, tmp_path: Path
) -> None:
    settings = admin_settings(real_settings)
    keys = tmp_path / "keys"
    KeyDirectory(keys).generate("ES256", activate=True)
    env = {**cli_environment(settings), "AUTH_JWT_ALGORITHM": "ES256"}
    env["AUTH_JWT_KEYS_DIR"] = str(keys)
    admin_email = unique_email("admin")
    made = await users_command(
        env,
        "create-admin",
        "--email",
        admin_email,
        "--password-stdin",
        stdin=ADMIN_PASSWORD + "\n",
    )
    assert made.status == 0, made.err
    async with (
        auth_service(settings, keys, tmp_path / "auth.log", roles=env["AUTH_ROLES"]) as base,
        httpx.AsyncClient(base_url=base) as auth,
    ):
        admin = bearer((await login(auth, admin_email, ADMIN_PASSWORD)).json()["access_token"])
        events = events_of(settings, servers.kafka_bootstrap)
        async with events_quiz(base, settings, events) as (quiz, _):
            promoted, promoted_token = await member(auth)
            disabled, disabled_token = await member(auth)
            _, bystander_token = await member(auth)
            for token in (promoted_token, disabled_token, bystander_token):
                assert await status_of(quiz, token) == 200

            changed = await auth.put(
                f"/admin/users/{promoted}/roles", json={"roles": ["quizmaster"]}, headers=admin
            )
            assert changed.status_code == 200
            ended = await auth.post(
                f"/admin/users/{disabled}/disable", json={"reason": "spam"}, headers=admin
            )
            assert ended.status_code == 200
            await refused(quiz, promoted_token, disabled_token)
            assert await status_of(quiz, bystander_token) == 200

"""`python -m auth_api users create-admin|set-roles` against the real servers: the first
admin, promotion, roles, and input it refuses without changing anything."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from auth_api.app import create_app
from auth_api.settings import Settings
from tests.admin.cli import at_a_terminal, cli_environment, users_command
from tests.admin.conftest import admin_settings
from tests.conftest import running
from tests.support.api import PASSWORD, bearer, login, register, unique_email
from tests.support.servers import Servers

pytestmark = pytest.mark.integration
SettingsFactory = Callable[..., Settings]
NEW_PASSWORD = "a new admin's own passphrase"


@pytest.fixture
def settings(real_settings: SettingsFactory) -> Settings:
    return admin_settings(real_settings)


async def stored_users(servers: Servers, settings: Settings) -> list[dict[str, Any]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongo_url)
    try:
        users = client[settings.mongo_db]["users"]
        return await users.find({}, {"email": 1, "roles": 1}).to_list()
    finally:
        await client.close()


async def test_create_admin_makes_a_new_account_an_admin(settings: Settings) -> None:
    email = unique_email("first-admin")
    done = await users_command(
        cli_environment(settings),
        "create-admin",
        "--email",
        email,
        "--password-stdin",
        stdin=NEW_PASSWORD + "\n",
    )
    assert done.status == 0, done.err
    assert done.out.strip().endswith("roles admin user")
    audit = [line for line in done.err.splitlines() if '"admin_set_roles"' in line]
    assert len(audit) == 1
    assert '"admin_id": "cli"' in audit[0]
    async with running(create_app(settings)) as api:
        tokens = (await login(api, email, NEW_PASSWORD)).json()
        listing = await api.get("/admin/users", headers=bearer(tokens["access_token"]))
        assert listing.status_code == 200
        assert [u["roles"] for u in listing.json()["users"]] == [["admin", "user"]]


async def test_create_admin_promotes_an_existing_account_and_keeps_its_password(
    settings: Settings,
) -> None:
    email = unique_email("promoted")
    async with running(create_app(settings)) as api:
        assert (await register(api, email)).status_code == 201
    done = await users_command(cli_environment(settings), "create-admin", "--email", email)
    assert done.status == 0, done.err
    assert "password is unchanged" in done.err
    async with running(create_app(settings)) as api:
        tokens = (await login(api, email, PASSWORD)).json()
        me = await api.get("/auth/me", headers=bearer(tokens["access_token"]))
        assert me.json()["roles"] == ["admin", "user"]


async def test_create_admin_reads_the_password_at_a_terminal(settings: Settings) -> None:
    email = unique_email("typed")
    args = ["create-admin", "--email", email]
    done = await at_a_terminal(cli_environment(settings), args, [NEW_PASSWORD, NEW_PASSWORD])
    assert done.status == 0, done.out
    assert NEW_PASSWORD not in done.out  # not echoed
    async with running(create_app(settings)) as api:
        assert (await login(api, email, NEW_PASSWORD)).status_code == 200


async def test_set_roles_sets_exactly_the_roles_given(settings: Settings) -> None:
    email = unique_email("teacher")
    async with running(create_app(settings)) as api:
        assert (await register(api, email)).status_code == 201
    env = cli_environment(settings)
    done = await users_command(env, "set-roles", "--email", email.upper(), "quizmaster")
    assert done.status == 0, done.err
    assert done.out.strip().endswith("roles quizmaster user")
    done = await users_command(env, "set-roles", "--email", email)
    assert done.out.strip().endswith("roles user")


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["set-roles", "--email", "nobody@example.com", "quizmaster"], None, "no user has"),
        (["set-roles", "--email", "not an email", "quizmaster"], None, "not an email"),
        (["create-admin", "--email", "weak@example.com", "--password-stdin"], "password\n", ""),
        (["create-admin", "--email", "empty@example.com", "--password-stdin"], "\n", "no password"),
        (["create-admin", "--email", "notty@example.com"], None, "no terminal"),
    ],
)
async def test_refused_input_exits_2_and_changes_nothing(
    settings: Settings, servers: Servers, args: list[str], stdin: str | None, message: str
) -> None:
    before = await stored_users(servers, settings)
    done = await users_command(cli_environment(settings), *args, stdin=stdin)
    assert done.status == 2, (done.out, done.err)
    assert message in done.err
    assert await stored_users(servers, settings) == before


async def test_an_unknown_role_exits_2_and_changes_nothing(
    settings: Settings, servers: Servers
) -> None:
    email = unique_email("member")
    async with running(create_app(settings)) as api:
        assert (await register(api, email)).status_code == 201
    before = await stored_users(servers, settings)
    done = await users_command(cli_environment(settings), "set-roles", "--email", email, "wizard")
    assert done.status == 2
    assert "wizard" in done.err
    assert await stored_users(servers, settings) == before


async def test_the_commands_need_the_servers(settings: Settings) -> None:
    env = cli_environment(settings, AUTH_MONGO_URL="", AUTH_REDIS_URL="", AUTH_ENV="development")
    del env["AUTH_MONGO_URL"], env["AUTH_REDIS_URL"]
    done = await users_command(env, "set-roles", "--email", "a@example.com")
    assert done.status == 2
    assert "AUTH_MONGO_URL" in done.err


async def test_no_admin_exists_until_one_is_made(settings: Settings, servers: Servers) -> None:
    async with running(create_app(settings)) as api:
        email = unique_email("first")
        assert (await register(api, email)).status_code == 201
        tokens = (await login(api, email)).json()
        refused = await api.get("/admin/users", headers=bearer(tokens["access_token"]))
        assert refused.status_code == 403
    assert [u["roles"] for u in await stored_users(servers, settings)] == [["user"]]

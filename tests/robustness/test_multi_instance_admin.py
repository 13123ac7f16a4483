"""Administration across two real `python -m auth_api serve` processes: what an admin
does through one instance holds on the other at once."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from tests.admin.cli import users_command
from tests.conftest import drop_test_data, new_isolation
from tests.events.processes import until_live
from tests.robustness.test_multi_instance import cluster_environment, serve
from tests.support.api import assert_problem, bearer, login, unique_email
from tests.support.servers import Servers
from tests.support.sessions import logged_in, me_status, refresh

pytestmark = pytest.mark.integration
ADMIN_PASSWORD = "the admin of both instances"


@dataclass(frozen=True)
class Cluster:
    first: httpx.AsyncClient
    second: httpx.AsyncClient
    admin: dict[str, str]  # the admin's bearer header


@pytest.fixture(scope="module")
async def cluster(
    servers: Servers, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    isolation = new_isolation()
    env = cluster_environment(servers, isolation)
    env["AUTH_ROLES"] = "quizmaster:quiz.write,quiz.grade"
    logs = tmp_path_factory.mktemp("instances")
    admin_email = unique_email("admin")
    try:
        made = await users_command(
            env,
            "create-admin",
            "--email",
            admin_email,
            "--password-stdin",
            stdin=ADMIN_PASSWORD + "\n",
        )
        assert made.status == 0, made.err
        with contextlib.ExitStack() as processes:
            (first_url, first_log), (second_url, second_log) = [
                serve(processes, env, logs) for _ in range(2)
            ]
            async with (
                httpx.AsyncClient(base_url=first_url, timeout=10) as first,
                httpx.AsyncClient(base_url=second_url, timeout=10) as second,
            ):
                await until_live(first, first_log, 30)
                await until_live(second, second_log, 30)
                tokens = (await login(first, admin_email, ADMIN_PASSWORD)).json()
                yield Cluster(first, second, bearer(tokens["access_token"]))
    finally:
        await drop_test_data(servers, isolation)


async def user_id(client: httpx.AsyncClient, access: str) -> str:
    me = await client.get("/auth/me", headers=bearer(access))
    assert me.status_code == 200
    identifier: str = me.json()["id"]
    return identifier


async def test_a_disabled_users_live_token_dies_on_both_instances_at_once(
    cluster: Cluster,
) -> None:
    email, on_first = await logged_in(cluster.first, agent="laptop")
    _, on_second = await logged_in(cluster.second, email, agent="phone")
    tokens = [str(t["access_token"]) for t in (on_first, on_second)]
    for token in tokens:
        for instance in (cluster.first, cluster.second):
            assert await me_status(instance, token) == 200
    target = await user_id(cluster.first, tokens[0])

    disabled = await cluster.first.post(
        f"/admin/users/{target}/disable", json={"reason": "compromised"}, headers=cluster.admin
    )
    assert disabled.status_code == 200, disabled.text
    for token in tokens:
        for instance in (cluster.first, cluster.second):
            assert await me_status(instance, token) == 401
    for pair in (on_first, on_second):
        assert (await refresh(cluster.second, str(pair["refresh_token"]))).status_code == 401
    assert_problem(await login(cluster.second, email), 403, "ACCOUNT_DISABLED")


async def test_a_role_change_through_one_instance_shows_in_the_next_token_on_the_other(
    cluster: Cluster,
) -> None:
    _, tokens = await logged_in(cluster.second)
    target = await user_id(cluster.second, str(tokens["access_token"]))
    changed = await cluster.first.put(
        f"/admin/users/{target}/roles", json={"roles": ["quizmaster"]}, headers=cluster.admin
    )
    assert changed.status_code == 200, changed.text
    assert await me_status(cluster.second, str(tokens["access_token"])) == 401
    renewed = await refresh(cluster.second, str(tokens["refresh_token"]))
    assert renewed.status_code == 200
    me = await cluster.second.get("/auth/me", headers=bearer(renewed.json()["access_token"]))
    assert me.json()["roles"] == ["quizmaster", "user"]


async def test_a_removed_admin_is_refused_by_the_other_instance_at_once(cluster: Cluster) -> None:
    _, tokens = await logged_in(cluster.first)
    deputy = await user_id(cluster.first, str(tokens["access_token"]))
    promoted = await cluster.first.put(
        f"/admin/users/{deputy}/roles", json={"roles": ["admin"]}, headers=cluster.admin
    )
    assert promoted.status_code == 200
    email_tokens = await refresh(cluster.first, str(tokens["refresh_token"]))
    deputy_auth = bearer(email_tokens.json()["access_token"])
    assert (await cluster.second.get("/admin/users", headers=deputy_auth)).status_code == 200
    demoted = await cluster.first.put(
        f"/admin/users/{deputy}/roles", json={"roles": []}, headers=cluster.admin
    )
    assert demoted.status_code == 200
    assert (await cluster.second.get("/admin/users", headers=deputy_auth)).status_code == 401

"""The admin API over HTTP, embedded and on the real servers: who may call it, what
each route answers, and that a refused call changes nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest

from auth_api.admin.events import roles_changed_event
from auth_api.model.clock import utc_now
from auth_api.store.admin_ports import RolesChange
from tests.admin.conftest import AdminWorld
from tests.support.api import assert_problem, bearer, login, unique_email
from tests.support.logs import CapturedLogs
from tests.support.sessions import me_status, refresh

USER, ADMIN = frozenset({"user"}), frozenset({"user", "admin"})
VALID_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("put", "/admin/users/{user_id}/roles"): {"roles": ["admin"]},
    ("post", "/admin/users/{user_id}/disable"): {"reason": "taking over"},
}


def admin_operations(world: AdminWorld) -> list[tuple[str, str]]:
    """Every operation under /admin/ that the OpenAPI schema documents."""
    paths = world.app.openapi()["paths"]
    return [
        (method, path)
        for path, operations in paths.items()
        if path.startswith("/admin/")
        for method in operations
    ]


async def call(
    world: AdminWorld, method: str, path: str, target: str, headers: dict[str, str]
) -> Any:
    url = path.replace("{user_id}", target)
    body = VALID_BODIES.get((method, path))
    return await world.api.request(method.upper(), url, json=body, headers=headers)


async def test_every_admin_route_refuses_a_non_admin_and_changes_nothing(
    world: AdminWorld,
) -> None:
    outsider = await world.member("outsider")
    target = await world.member("target")
    before = [await world.stored(u.id) for u in (outsider, target, world.admin)]
    operations = admin_operations(world)
    assert len(operations) >= 8
    for method, path in operations:
        # The outsider aims at the admin, at another user and at themself.
        for aim in (world.admin.id, target.id, outsider.id):
            refused = await call(world, method, path, aim, outsider.auth)
            assert_problem(refused, 403, "FORBIDDEN")
            anonymous = await call(world, method, path, aim, {})
            assert_problem(anonymous, 401, "NOT_AUTHENTICATED")
            assert anonymous.headers["www-authenticate"] == "Bearer"
    assert [await world.stored(u.id) for u in (outsider, target, world.admin)] == before
    assert await me_status(world.api, outsider.tokens["access_token"]) == 200


async def test_a_removed_admin_is_refused_at_once(world: AdminWorld) -> None:
    deputy = await world.promote(await world.member("deputy"), "admin")
    assert (await world.api.get("/admin/users", headers=deputy.auth)).status_code == 200
    demoted = await world.api.put(
        f"/admin/users/{deputy.id}/roles", json={"roles": []}, headers=world.admin.auth
    )
    assert demoted.status_code == 200
    # The role change ended the deputy's tokens: the one they hold is dead.
    assert_problem(
        await world.api.get("/admin/users", headers=deputy.auth), 401, "NOT_AUTHENTICATED"
    )


async def test_the_role_is_checked_in_the_store_not_only_in_the_token(world: AdminWorld) -> None:
    """Roles changed in the store whose tokens were not denied (a change whose denial
    failed, say): the token still says admin, the store no longer does, and it wins."""
    deputy = await world.promote(await world.member("deputy"), "admin")
    now = utc_now()
    change = RolesChange(
        deputy.id, ADMIN, USER, now, roles_changed_event(deputy.id, ADMIN, USER, now, None)
    )
    assert await world.app.state.container.backends.admin.change_roles(change)
    assert await me_status(world.api, deputy.tokens["access_token"]) == 200
    assert_problem(await world.api.get("/admin/users", headers=deputy.auth), 403, "FORBIDDEN")


async def test_a_role_change_shows_in_me_introspection_and_the_next_token(
    world: AdminWorld,
) -> None:
    player = await world.member("player")
    assert (await world.introspect(player.tokens["access_token"]))["roles"] == ["user"]
    changed = await world.api.put(
        f"/admin/users/{player.id}/roles", json={"roles": ["quizmaster"]}, headers=world.admin.auth
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["roles"] == ["quizmaster", "user"]
    assert (await world.introspect(player.tokens["access_token"])) == {"active": False}
    renewed = await refresh(world.api, player.tokens["refresh_token"])
    assert renewed.status_code == 200
    token = renewed.json()["access_token"]
    introspected = await world.introspect(token)
    assert (introspected["roles"], introspected["scope"]) == (
        ["quizmaster", "user"],
        "quiz.grade quiz.write",
    )
    me = await world.api.get("/auth/me", headers=bearer(token))
    assert me.json()["roles"] == ["quizmaster", "user"]


async def test_unknown_roles_are_422_and_change_nothing(world: AdminWorld) -> None:
    player = await world.member("player")
    before = await world.stored(player.id)
    for roles in (["wizard"], ["quizmaster", "Admin"], ["x" * 40], [7]):
        response = await world.api.put(
            f"/admin/users/{player.id}/roles", json={"roles": roles}, headers=world.admin.auth
        )
        assert response.status_code == 422, response.text
    unknown = await world.api.put(
        f"/admin/users/{player.id}/roles", json={"roles": ["wizard"]}, headers=world.admin.auth
    )
    assert_problem(unknown, 422, "UNKNOWN_ROLE")
    assert await world.stored(player.id) == before
    assert await me_status(world.api, player.tokens["access_token"]) == 200


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("PUT", "/roles", {"roles": ["reviewer"]}),
        ("POST", "/disable", {"reason": "spam"}),
        ("POST", "/enable", None),
        ("POST", "/logout-all", None),
        ("DELETE", "/rate-limits", None),
    ],
)
async def test_an_unknown_user_is_404(
    world: AdminWorld, method: str, suffix: str, body: dict[str, Any] | None
) -> None:
    response = await world.api.request(
        method, f"/admin/users/no-such-user{suffix}", json=body, headers=world.admin.auth
    )
    assert_problem(response, 404, "USER_NOT_FOUND")


async def test_a_disabled_account_is_refused_everywhere(world: AdminWorld) -> None:
    player = await world.member("player")
    access, refresh_token = player.tokens["access_token"], player.tokens["refresh_token"]
    disabled = await world.api.post(
        f"/admin/users/{player.id}/disable", json={"reason": "cheating"}, headers=world.admin.auth
    )
    assert disabled.status_code == 200, disabled.text
    assert (disabled.json()["disabled"], disabled.json()["disabled_reason"]) == (True, "cheating")
    assert_problem(await login(world.api, player.email), 403, "ACCOUNT_DISABLED")
    assert_problem(
        await login(world.api, player.email, "not it at all"), 401, "INVALID_CREDENTIALS"
    )
    assert_problem(await refresh(world.api, refresh_token), 401, "INVALID_REFRESH_TOKEN")
    assert await me_status(world.api, access) == 401
    assert await world.introspect(access) == {"active": False}
    detail = await world.stored(player.id)
    assert [s["active"] for s in detail["sessions"]] == [False]

    enabled = await world.api.post(f"/admin/users/{player.id}/enable", headers=world.admin.auth)
    assert enabled.json()["disabled"] is False
    assert (await login(world.api, player.email)).status_code == 200
    assert_problem(await refresh(world.api, refresh_token), 401, "INVALID_REFRESH_TOKEN")


async def test_the_last_admin_stays(world: AdminWorld) -> None:
    me = world.admin.id
    before = await world.stored(me)
    demote = await world.api.put(
        f"/admin/users/{me}/roles", json={"roles": ["reviewer"]}, headers=world.admin.auth
    )
    assert_problem(demote, 409, "LAST_ADMIN")
    disable = await world.api.post(
        f"/admin/users/{me}/disable", json={"reason": "bye"}, headers=world.admin.auth
    )
    assert_problem(disable, 409, "LAST_ADMIN")
    assert await world.stored(me) == before
    deputy = await world.promote(await world.member("deputy"), "admin")
    stepped_down = await world.api.put(
        f"/admin/users/{me}/roles", json={"roles": []}, headers=world.admin.auth
    )
    assert stepped_down.status_code == 200
    world.admin = deputy  # the former admin's tokens ended with the role
    assert (await world.stored(me))["roles"] == ["user"]
    last = await world.api.put(
        f"/admin/users/{deputy.id}/roles", json={"roles": []}, headers=deputy.auth
    )
    assert_problem(last, 409, "LAST_ADMIN")


async def test_logout_all_ends_the_users_sessions(world: AdminWorld) -> None:
    player = await world.member("player")
    ended = await world.api.post(f"/admin/users/{player.id}/logout-all", headers=world.admin.auth)
    assert ended.status_code == 204
    assert await me_status(world.api, player.tokens["access_token"]) == 401
    assert (await refresh(world.api, player.tokens["refresh_token"])).status_code == 401
    assert (await login(world.api, player.email)).status_code == 200


async def test_lifting_the_throttle_lets_the_owner_in_again(world: AdminWorld) -> None:
    player = await world.member("player")
    for _ in range(world.app.state.container.settings.login_account_ip_limit):
        await login(world.api, player.email, "not the password at all")
    assert_problem(await login(world.api, player.email), 429, "RATE_LIMITED")
    lifted = await world.api.delete(
        f"/admin/users/{player.id}/rate-limits", headers=world.admin.auth
    )
    assert lifted.status_code == 204
    assert (await login(world.api, player.email)).status_code == 200


async def test_the_listing_pages_and_filters(world: AdminWorld) -> None:
    tag = unique_email("page").partition("@")[0]
    members = [await world.member(f"{tag}-{n}") for n in range(5)]
    await world.promote(members[1], "reviewer")
    await world.api.post(
        f"/admin/users/{members[2].id}/disable", json={"reason": "x"}, headers=world.admin.auth
    )
    seen: list[str] = []
    params: dict[str, Any] = {"email_prefix": tag.upper(), "limit": 2}
    while True:
        page = await world.api.get("/admin/users", params=params, headers=world.admin.auth)
        assert page.status_code == 200, page.text
        assert page.headers["cache-control"] == "no-store"
        seen += [u["email"] for u in page.json()["users"]]
        if page.json()["next_cursor"] is None:
            break
        params["cursor"] = page.json()["next_cursor"]
    assert seen == sorted(m.email for m in members)

    async def emails(**filters: Any) -> list[str]:
        query = {"email_prefix": tag, **filters}
        page = await world.api.get("/admin/users", params=query, headers=world.admin.auth)
        return [u["email"] for u in page.json()["users"]]

    assert await emails(role="reviewer") == [members[1].email]
    assert await emails(disabled="true") == [members[2].email]
    assert len(await emails(disabled="false")) == 4


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "201"},
        {"limit": "ten"},
        {"cursor": "not-a-cursor"},
        {"cursor": "dTE6bm9hdA"},
        {"role": "wizard"},
        {"disabled": "perhaps"},
    ],
)
async def test_malformed_listing_parameters_are_422(
    world: AdminWorld, query: dict[str, str]
) -> None:
    response = await world.api.get("/admin/users", params=query, headers=world.admin.auth)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_the_detail_shows_sessions_without_their_secrets(world: AdminWorld) -> None:
    player = await world.member("player")
    detail = await world.stored(player.id)
    assert detail["email"] == player.email
    assert detail["last_login_at"] is not None
    (session,) = detail["sessions"]
    assert session["active"] is True
    text = str(detail)
    assert player.tokens["refresh_token"].rpartition(".")[2] not in text
    assert not re.search(r"hash|secret|token", text, re.IGNORECASE)


async def test_the_roles_this_deployment_knows(world: AdminWorld) -> None:
    response = await world.api.get("/admin/roles", headers=world.admin.auth)
    assert {r["name"]: (r["scopes"], r["built_in"]) for r in response.json()} == {
        "admin": ([], True),
        "user": ([], True),
        "quizmaster": (["quiz.grade", "quiz.write"], False),
        "reviewer": (["quiz.read"], False),
    }


async def test_every_admin_call_writes_an_audit_line_naming_admin_and_target(
    world: AdminWorld, json_logs: CapturedLogs
) -> None:
    player = await world.member("player")
    outsider = await world.member("outsider")
    await world.api.put(
        f"/admin/users/{player.id}/roles", json={"roles": ["reviewer"]}, headers=world.admin.auth
    )
    await world.api.get(f"/admin/users/{player.id}", headers=world.admin.auth)
    await world.api.get("/admin/users", headers=outsider.auth)
    lines = [line for line in json_logs.lines() if str(line.get("audit", "")).startswith("admin_")]
    assert [(x["audit"], x.get("admin_id"), x.get("target")) for x in lines] == [
        ("admin_set_roles", world.admin.id, player.id),
        ("admin_view_user", world.admin.id, player.id),
        ("admin_refused", None, None),
    ]
    assert lines[-1]["user_id"] == outsider.id

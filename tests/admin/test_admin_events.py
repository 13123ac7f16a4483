"""Every path that records `user.roles_changed`, `user.disabled` or `user.enabled`,
end to end on Kafka: the admin API, and the command line (whose events the API's relay
delivers). Each event is valid against its schema, keyed by the user id, and free of
secrets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from auth_api.app import create_app
from auth_api.settings import Settings
from tests.admin.cli import cli_environment, users_command
from tests.admin.conftest import AdminWorld, Member, admin_settings
from tests.conftest import running
from tests.events.support import envelopes, outbox_drained, read_topic, secret_keys, validator
from tests.support.api import PASSWORD, bearer, login, register, unique_email
from tests.support.servers import Servers

pytestmark = pytest.mark.integration
SettingsFactory = Callable[..., Settings]


async def published(servers: Servers, settings: Settings, event_type: str) -> list[Any]:
    return await read_topic(servers.kafka_bootstrap, settings.kafka_topic_prefix + event_type)


def by_user(item: tuple[str, str]) -> str:
    """A stable sort key: users interleave on a topic, each user's events keep their order."""
    return item[0]


def checked(records: list[Any], event_type: str) -> list[dict[str, Any]]:
    """The envelopes, each valid, keyed by its user and without secrets."""
    for record, envelope in zip(records, envelopes(records), strict=True):
        validator(event_type).validate(envelope)
        assert record.key == envelope["subject"].encode() == envelope["data"]["user_id"].encode()
        assert secret_keys(envelope) == []
        assert PASSWORD.encode() not in record.value
    return envelopes(records)


async def test_the_admin_api_publishes_roles_changed_disabled_and_enabled(
    real_settings: SettingsFactory, servers: Servers
) -> None:
    settings = admin_settings(real_settings)
    app = create_app(settings)
    async with running(app) as api:
        world = AdminWorld(app, api, Member("", "", {}))
        world.admin = await world.promote(await world.member("admin"), "admin")
        player = await world.member("player")
        headers = world.admin.auth
        url = f"/admin/users/{player.id}"
        assert (
            await api.put(f"{url}/roles", json={"roles": ["quizmaster"]}, headers=headers)
        ).status_code == 200
        assert (
            await api.post(f"{url}/disable", json={"reason": "cheating"}, headers=headers)
        ).status_code == 200
        assert (await api.post(f"{url}/enable", headers=headers)).status_code == 200
        await outbox_drained(api)

    changes = checked(
        await published(servers, settings, "user.roles_changed"), "user.roles_changed"
    )
    assert [
        (c["subject"], c["data"]["old_roles"], c["data"]["new_roles"], c["data"]["changed_by"])
        for c in changes
    ] == [
        (world.admin.id, ["user"], ["admin", "user"], None),
        (player.id, ["user"], ["quizmaster", "user"], world.admin.id),
    ]
    (disabled,) = checked(await published(servers, settings, "user.disabled"), "user.disabled")
    assert (disabled["data"]["reason"], disabled["data"]["disabled_by"]) == (
        "cheating",
        world.admin.id,
    )
    (enabled,) = checked(await published(servers, settings, "user.enabled"), "user.enabled")
    assert (enabled["subject"], enabled["data"]["enabled_by"]) == (player.id, world.admin.id)
    (revoked,) = checked(await published(servers, settings, "session.revoked"), "session.revoked")
    assert revoked["data"]["reason"] == "account_disabled"
    assert revoked["data"]["session_ids"] == disabled["data"]["session_ids"]
    cut_offs = checked(
        await published(servers, settings, "user.tokens_revoked"), "user.tokens_revoked"
    )
    per_user = sorted(((c["subject"], c["data"]["reason"]) for c in cut_offs), key=by_user)
    assert per_user == sorted(
        [
            (world.admin.id, "roles_changed"),
            (player.id, "roles_changed"),
            (player.id, "account_disabled"),
        ],
        key=by_user,
    )


async def test_the_command_line_records_roles_changed_for_the_relay(
    real_settings: SettingsFactory, servers: Servers
) -> None:
    settings = admin_settings(real_settings)
    env = cli_environment(settings)
    first, promoted = unique_email("first"), unique_email("promoted")
    async with running(create_app(settings)) as api:
        assert (await register(api, promoted)).status_code == 201
    created = await users_command(
        env, "create-admin", "--email", first, "--password-stdin", stdin="a long admin passphrase\n"
    )
    assert created.status == 0, created.err
    assert (await users_command(env, "create-admin", "--email", promoted)).status == 0
    assert (await users_command(env, "set-roles", "--email", promoted, "reviewer")).status == 0
    async with running(create_app(settings)) as api:
        await outbox_drained(api)  # the API's relay delivers what the command recorded
        tokens = (await login(api, promoted)).json()
        me = await api.get("/auth/me", headers=bearer(tokens["access_token"]))
    changes = checked(
        await published(servers, settings, "user.roles_changed"), "user.roles_changed"
    )
    by_user: dict[str, list[tuple[list[str], str | None]]] = {}
    for change in changes:  # in order per user, the key's partition; users interleave
        by_user.setdefault(change["subject"], []).append(
            (change["data"]["new_roles"], change["data"]["changed_by"])
        )
    assert sorted(by_user.values()) == [
        [(["admin", "user"], None)],
        [(["admin", "user"], None), (["reviewer", "user"], None)],
    ]
    assert len(by_user[me.json()["id"]]) == 2

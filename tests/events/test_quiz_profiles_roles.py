"""The reference consumer records each player's roles from `user.roles_changed`: the
latest change wins, whatever order and however often the changes arrive."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from auth_api.app import create_app
from auth_api.settings import Settings
from consumers.events import AuthEvent
from consumers.quiz_profiles import COLLECTION, QuizProfiles
from tests.admin.conftest import AdminWorld, Member, admin_settings
from tests.conftest import running
from tests.events.runners import consuming, done_with
from tests.events.support import outbox_drained
from tests.events.test_quiz_profiles import profiles_runner
from tests.support.polling import eventually
from tests.support.servers import Servers

pytestmark = pytest.mark.integration
SettingsFactory = Callable[..., Settings]
Database = AsyncDatabase[dict[str, Any]]


async def test_a_players_roles_follow_the_admins_changes(
    real_settings: SettingsFactory, servers: Servers, test_db: Database
) -> None:
    settings = admin_settings(real_settings)
    app = create_app(settings)
    async with running(app) as api:
        world = AdminWorld(app, api, Member("", "", {}))
        world.admin = await world.promote(await world.member("admin"), "admin")
        player = await world.member("player")
        for roles in (["quizmaster"], ["reviewer", "quizmaster"], ["reviewer"]):
            response = await api.put(
                f"/admin/users/{player.id}/roles", json={"roles": roles}, headers=world.admin.auth
            )
            assert response.status_code == 200
        await outbox_drained(api)

    runner = profiles_runner(servers, settings, test_db)
    topic = settings.kafka_topic_prefix + "user.roles_changed"
    async with consuming(runner):
        await eventually(lambda: done_with(runner, topic) == 4, 15, "the four role changes")
    profile = await test_db[COLLECTION].find_one({"_id": player.id})
    assert profile is not None
    assert profile["roles"] == ["reviewer", "user"]
    admin_profile = await test_db[COLLECTION].find_one({"_id": world.admin.id})
    assert admin_profile is not None
    assert admin_profile["roles"] == ["admin", "user"]


def change(user_id: str, at: datetime, roles: list[str]) -> AuthEvent:
    stamp = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    data = {
        "user_id": user_id,
        "old_roles": ["user"],
        "new_roles": roles,
        "changed_at": stamp,
        "changed_by": None,
    }
    return AuthEvent(str(uuid.uuid4()), "user.roles_changed", user_id, at, data)


async def test_an_earlier_change_arriving_late_does_not_undo_a_later_one(
    test_db: Database,
) -> None:
    # No ProcessedEvents here: the handler itself must hold, as after a crash.
    profiles = QuizProfiles(test_db[COLLECTION])
    user_id, start = str(uuid.uuid4()), datetime(2025, 1, 1, tzinfo=UTC)
    earlier = change(user_id, start, ["quizmaster", "user"])
    later = change(user_id, start + timedelta(seconds=1), ["user"])
    for item in (later, earlier, later, earlier):
        await profiles.on_roles_changed(item)
    profile = await test_db[COLLECTION].find_one({"_id": user_id})
    assert profile is not None
    assert (profile["roles"], profile["roles_changed_at"]) == (["user"], later.time)
    assert profile["login_count"] == 0

"""The administration events as the service encodes them validate against their
schemas, and the schemas refuse what a consumer must never be handed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from auth_api.admin.events import disabled_event, enabled_event, roles_changed_event
from auth_api.model.events import PendingEvent, encode
from consumers.schemas import EventSchemas
from tests.events.support import validator

USER_ID = "9b2f7a1e-4c7d-4a51-9a0e-3f1f2d6c8b10"
ADMIN_ID = "0c1d2e3f-4a5b-4c6d-8e7f-901a2b3c4d5e"
AT = datetime(2025, 3, 1, 12, 30, 15, 123000, tzinfo=UTC)

EMITTED = {
    "user.roles_changed": roles_changed_event(
        USER_ID, {"user"}, {"user", "quizmaster"}, AT, ADMIN_ID
    ),
    "user.disabled": disabled_event(USER_ID, "cheating", ["s-1", "s-2"], AT, ADMIN_ID),
    "user.enabled": enabled_event(USER_ID, AT, None),
}


def envelope(event: PendingEvent) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(encode(event))
    return parsed


@pytest.mark.parametrize("event_type", sorted(EMITTED))
def test_what_the_service_emits_validates(event_type: str) -> None:
    emitted = envelope(EMITTED[event_type])
    validator(event_type).validate(emitted)
    assert EventSchemas().problems(emitted) == []


def test_the_command_line_is_a_null_actor_and_a_disable_may_end_no_session() -> None:
    validator("user.roles_changed").validate(
        envelope(roles_changed_event(USER_ID, {"user"}, {"user", "admin"}, AT, None))
    )
    validator("user.disabled").validate(envelope(disabled_event(USER_ID, "x", [], AT, None)))


@pytest.mark.parametrize(
    ("event_type", "field", "value"),
    [
        ("user.roles_changed", "new_roles", ["quizmaster"]),  # `user` is always there
        ("user.roles_changed", "old_roles", ["user", "Bad Role"]),
        ("user.roles_changed", "changed_by", ""),
        ("user.disabled", "reason", ""),
        ("user.disabled", "password", "x"),
        ("user.enabled", "enabled_at", "yesterday"),
    ],
)
def test_the_schemas_refuse_bad_data(event_type: str, field: str, value: object) -> None:
    emitted = envelope(EMITTED[event_type])
    emitted["data"][field] = value
    assert not validator(event_type).is_valid(emitted)

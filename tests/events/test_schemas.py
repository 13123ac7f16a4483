"""The event schemas: valid JSON Schema, matching what the service emits, and strict
enough that a secret in the data or a malformed envelope is refused."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from auth_api.model.events import EventType, PendingEvent, encode
from auth_api.sessions.service import session_revoked_event, tokens_revoked_event
from consumers.schemas import EventSchemas
from quizauth_wire import RevocationReason
from tests.events.support import SCHEMA_DIR, validator

USER_ID = "9b2f7a1e-4c7d-4a51-9a0e-3f1f2d6c8b10"
AT = datetime(2025, 3, 1, 12, 30, 15, 123000, tzinfo=UTC)
PROFILE = {"user_id": USER_ID, "email": "Ada@example.com", "display_name": "ada"}
DATA: dict[str, dict[str, Any]] = {
    "user.registered": {**PROFILE, "registered_at": AT},
    "user.logged_in": {**PROFILE, "session_id": "s-1", "logged_in_at": AT, "method": "password"},
    "user.logged_out": {
        "user_id": USER_ID,
        "session_id": "s-1",
        "logged_out_at": AT,
        "scope": "session",
    },
    "user.email_verified": {"user_id": USER_ID, "email": "Ada@example.com", "verified_at": AT},
    "user.password_reset": {"user_id": USER_ID, "reset_at": AT},
    "user.password_changed": {"user_id": USER_ID, "changed_at": AT},
    "user.email_changed": {
        "user_id": USER_ID,
        "old_email": "Ada@example.com",
        "new_email": "ada@example.org",
        "changed_at": AT,
    },
    "user.deleted": {"user_id": USER_ID, "deleted_at": AT},
}


def emitted(event_type: str) -> dict[str, Any]:
    """An envelope exactly as the service encodes it."""
    event = PendingEvent.create(EventType(event_type), USER_ID, AT, DATA[event_type])
    parsed: dict[str, Any] = json.loads(encode(event))
    return parsed


def test_every_file_is_a_2020_12_schema_named_after_its_type() -> None:
    files = sorted(SCHEMA_DIR.glob("*.schema.json"))
    types = [path.name.removesuffix(".schema.json") for path in files]
    # One schema per event type of the wire contract, and nothing else.
    assert types == sorted(str(t) for t in EventType)
    for path, event_type in zip(files, types, strict=True):
        schema = json.loads(path.read_text())
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["properties"]["type"] == {"const": event_type}
        assert schema["properties"]["data"]["additionalProperties"] is False
    assert sorted(EventSchemas().event_types) == types


@pytest.mark.parametrize("event_type", sorted(DATA))
def test_what_the_service_emits_validates(event_type: str) -> None:
    validator(event_type).validate(emitted(event_type))
    assert EventSchemas().problems(emitted(event_type)) == []


@pytest.mark.parametrize("reason", list(RevocationReason))
def test_a_session_revoked_event_validates(reason: RevocationReason) -> None:
    event = session_revoked_event(USER_ID, ["s-1", "s-2"], reason, AT)
    envelope = json.loads(encode(event))
    validator("session.revoked").validate(envelope)
    envelope["data"]["session_ids"] = []
    assert not validator("session.revoked").is_valid(envelope)


def changed(envelope: dict[str, Any], path: str, value: object) -> dict[str, Any]:
    """A copy with the field at `path` (slash-separated) set, or removed if value is ..."""
    result = copy.deepcopy(envelope)
    *parents, last = path.split("/")
    target = result
    for name in parents:
        target = target[name]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return result


BROKEN = {
    "a password in the data": ("data/password", "correct horse battery staple"),
    "a password hash in the data": ("data/password_hash", "$argon2id$v=19$m=65536"),
    "a token in the data": ("data/access_token", "eyJhbGciOiJIUzI1NiJ9.e30.x"),
    "a secret beside the data": ("token", "eyJhbGciOiJIUzI1NiJ9.e30.x"),
    "another spec version": ("specversion", "0.3"),
    "another type": ("type", "user.logged_in"),
    "a time with an offset instead of UTC": ("time", "2025-03-01T14:30:15+02:00"),
    "a time that is not a date": ("time", "yesterday"),
    "a data time that is not a date": ("data/registered_at", "2025-03-01"),
    "no id": ("id", ...),
    "no subject": ("subject", ...),
    "no schema version": ("schemaversion", ...),
    "another schema version": ("schemaversion", "2"),
    "no user id in the data": ("data/user_id", ...),
    "an email that is not one": ("data/email", "not-an-email"),
    "data that is not an object": ("data", "user"),
    "a display name that is not a string": ("data/display_name", 5),
    "an empty display name": ("data/display_name", ""),
    "a subject that is null": ("subject", None),
    "a user id that is not a uuid": ("data/user_id", "12345"),
    "a spec version that is a number": ("specversion", 1.0),
}


def test_a_deletion_event_carries_only_the_id_and_the_time() -> None:
    envelope = emitted("user.deleted")
    assert set(envelope["data"]) == {"user_id", "deleted_at"}
    leaky = changed(envelope, "data/email", "Ada@example.com")
    assert not validator("user.deleted").is_valid(leaky)


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_registration_event_is_refused(case: str) -> None:
    path, value = BROKEN[case]
    envelope = changed(emitted("user.registered"), path, value)
    assert not validator("user.registered").is_valid(envelope)
    assert EventSchemas().problems(envelope)


@pytest.mark.parametrize(
    ("session_ids", "valid"),
    [(["a"], True), ([], False), (["a", "a"], False), (["a", 7], False), ("a", False)],
)
def test_session_ids_must_be_a_non_empty_list_of_distinct_strings(
    session_ids: object, valid: bool
) -> None:
    envelope = json.loads(encode(session_revoked_event(USER_ID, ["s"], "logout_all", AT)))
    envelope["data"]["session_ids"] = session_ids
    assert validator("session.revoked").is_valid(envelope) is valid
    assert (EventSchemas().problems(envelope) == []) is valid


@pytest.mark.parametrize(
    ("valid_after", "valid"),
    [(1740832216, True), (0, True), (-1, False), (1.5, False), ("1740832216", False)],
)
def test_a_tokens_revoked_event_carries_whole_seconds(valid_after: object, valid: bool) -> None:
    event = tokens_revoked_event(USER_ID, 1740832216, RevocationReason.LOGOUT_ALL, AT)
    envelope = json.loads(encode(event))
    assert validator("user.tokens_revoked").is_valid(envelope)
    assert EventSchemas().problems(envelope) == []
    envelope["data"]["valid_after"] = valid_after
    assert validator("user.tokens_revoked").is_valid(envelope) is valid


def test_an_invalid_schema_file_is_refused(tmp_path: Path) -> None:
    schema = json.loads((SCHEMA_DIR / "user.registered.schema.json").read_text())
    schema["properties"]["data"]["properties"]["email"]["maxLength"] = "long"
    (tmp_path / "user.registered.schema.json").write_text(json.dumps(schema))
    with pytest.raises(SchemaError):
        EventSchemas(tmp_path)


def test_the_loader_refuses_what_it_cannot_place() -> None:
    schemas = EventSchemas()
    assert schemas.problems(["not", "an", "object"]) == ["the envelope is not a JSON object"]
    assert schemas.problems({"type": "user.renamed"}) == ["unknown event type 'user.renamed'"]

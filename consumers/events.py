"""What a handler receives: a decoded auth event that passed its schema."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from consumers.schemas import EventSchemas


class InvalidMessage(Exception):
    """A message no retry can fix: it goes straight to the dead-letter topic."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason  # "malformed" (not a JSON object) or "invalid" (schema)


@dataclass(frozen=True)
class AuthEvent:
    id: str
    type: str
    subject: str
    time: datetime
    data: dict[str, Any]


def parse_time(value: str) -> datetime:
    """An RFC 3339 timestamp of an envelope, as an aware datetime."""
    return datetime.fromisoformat(value)


def decode(value: bytes | None, schemas: EventSchemas, expected_type: str) -> AuthEvent:
    """The event in a message value; InvalidMessage when it is not a valid one."""
    try:
        envelope = json.loads(value or b"")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidMessage("malformed", f"not JSON: {exc}") from exc
    if problems := schemas.problems(envelope):
        raise InvalidMessage("invalid", "; ".join(problems)[:1000])
    if envelope["type"] != expected_type:
        # The topic promises one type; anything else was published to the wrong place.
        raise InvalidMessage("invalid", f"a {envelope['type']} event on a {expected_type} topic")
    return AuthEvent(
        id=envelope["id"],
        type=envelope["type"],
        subject=envelope["subject"],
        time=parse_time(envelope["time"]),
        data=envelope["data"],
    )

"""An auth event as recorded in the outbox, and its CloudEvents 1.0 envelope."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from quizauth_wire import EventType, rfc3339

__all__ = ["EventType", "PendingEvent", "cloudevent", "encode", "rfc3339"]

SCHEMA_VERSION = "1"
EVENT_SOURCE = "urn:quizauth:auth-api"


@dataclass(frozen=True)
class PendingEvent:
    """Written in the same document update as the state change it reports."""

    id: str
    # A plain string when read back: an event type this version does not know (written
    # by a newer release before a rollback) must still be delivered, not stop the relay.
    type: EventType | str
    subject: str
    time: datetime
    data: dict[str, Any]

    @classmethod
    def create(
        cls, type_: EventType, subject: str, time: datetime, data: dict[str, Any]
    ) -> PendingEvent:
        return cls(id=str(uuid.uuid4()), type=type_, subject=subject, time=time, data=data)

    def to_document(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": str(self.type),
            "subject": self.subject,
            "time": self.time,
            "data": self.data,
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> PendingEvent:
        return cls(
            id=doc["id"],
            type=str(doc["type"]),
            subject=doc["subject"],
            time=doc["time"],
            data=dict(doc["data"]),
        )


def cloudevent(event: PendingEvent) -> dict[str, Any]:
    """Structured-mode CloudEvents 1.0 JSON."""
    return {
        "specversion": "1.0",
        "id": event.id,
        "source": EVENT_SOURCE,
        "type": str(event.type),
        "time": rfc3339(event.time),
        "subject": event.subject,
        "datacontenttype": "application/json",
        "schemaversion": SCHEMA_VERSION,
        "data": event.data,
    }


def encode(event: PendingEvent) -> bytes:
    return json.dumps(cloudevent(event), separators=(",", ":"), default=_json_default).encode()


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return rfc3339(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")

"""The events of administration: a user's roles changed, a user was disabled or enabled.
`*_by` names the admin who did it, or is null when the command line did."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from auth_api.model.events import EventType, PendingEvent


def roles_changed_event(
    user_id: str, old: Iterable[str], new: Iterable[str], at: datetime, by: str | None
) -> PendingEvent:
    data = {
        "user_id": user_id,
        "old_roles": sorted(old),
        "new_roles": sorted(new),
        "changed_at": at,
        "changed_by": by,
    }
    return PendingEvent.create(EventType.USER_ROLES_CHANGED, user_id, at, data)


def disabled_event(
    user_id: str, reason: str, session_ids: list[str], at: datetime, by: str | None
) -> PendingEvent:
    data = {
        "user_id": user_id,
        "reason": reason,
        "session_ids": session_ids,
        "disabled_at": at,
        "disabled_by": by,
    }
    return PendingEvent.create(EventType.USER_DISABLED, user_id, at, data)


def enabled_event(user_id: str, at: datetime, by: str | None) -> PendingEvent:
    data = {"user_id": user_id, "enabled_at": at, "enabled_by": by}
    return PendingEvent.create(EventType.USER_ENABLED, user_id, at, data)

"""The user as the service stores it. Only the service sets these fields."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from auth_api.sessions.models import Session


class Role(StrEnum):
    USER = "user"
    ADMIN = "admin"


def utc_now() -> datetime:
    # Millisecond precision: what MongoDB stores, so a round trip compares equal.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def new_user_id() -> str:
    return str(uuid.uuid4())


@dataclass
class User:
    id: str
    email: str
    email_normalized: str
    display_name: str
    password_hash: str
    created_at: datetime
    updated_at: datetime
    last_login_at: datetime | None = None
    is_active: bool = True
    role: Role = Role.USER
    # Loaded only where needed (login); /auth/me does not read them.
    sessions: dict[str, Session] = field(default_factory=dict)

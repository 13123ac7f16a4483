"""The user as the service stores it. Only the service sets these fields."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from auth_api.model.session import Session


class Role(StrEnum):
    USER = "user"


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
    email_verified: bool = False
    email_verified_at: datetime | None = None
    # Set when the account was deleted: the document is then a tombstone without
    # personal data (README, "Deleting an account").
    deleted_at: datetime | None = None
    # Loaded only where needed (login); /auth/me does not read them.
    sessions: dict[str, Session] = field(default_factory=dict)

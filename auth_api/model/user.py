"""The user as the service stores it. Only the service sets these fields."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from auth_api.model.session import Session
from quizauth_wire import ADMIN_ROLE, USER_ROLE

DEFAULT_ROLES = frozenset({USER_ROLE})


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
    # Always holds `user`; `admin` and the roles of AUTH_ROLES are granted by an admin.
    roles: frozenset[str] = DEFAULT_ROLES
    disabled_at: datetime | None = None
    disabled_reason: str | None = None
    # The last time the account was enabled again after being disabled: a session opened
    # before it (by a login racing the disable) cannot be refreshed.
    enabled_at: datetime | None = None
    email_verified: bool = False
    email_verified_at: datetime | None = None
    # Set when the account was deleted: the document is then a tombstone without
    # personal data (README, "Deleting an account").
    deleted_at: datetime | None = None
    # Loaded only where needed (login); /auth/me does not read them.
    sessions: dict[str, Session] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return self.is_active and ADMIN_ROLE in self.roles

    def may_refresh(self, session: Session) -> bool:
        if not self.is_active:
            return False
        return self.enabled_at is None or session.created_at >= self.enabled_at

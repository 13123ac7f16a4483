"""Bodies of the admin API. Requests forbid unknown fields, like every other request."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from auth_api.admin.service import SessionView, UserDetail, UserPage
from auth_api.api.account_schemas import StrictRequest
from auth_api.model.user import User
from quizauth_wire import MAX_ROLE_LENGTH

RoleName = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ROLE_LENGTH)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]


class RolesRequest(StrictRequest):
    roles: list[RoleName] = Field(max_length=32, description="`user` is implied")


class DisableRequest(StrictRequest):
    reason: Reason


class AdminUser(BaseModel):
    id: str
    email: str
    display_name: str
    roles: list[str]
    disabled: bool
    disabled_at: datetime | None
    disabled_reason: str | None
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, user: User) -> AdminUser:
        return cls(
            id=user.id,
            email=user.email,
            display_name=user.display_name,
            roles=sorted(user.roles),
            disabled=not user.is_active,
            disabled_at=user.disabled_at,
            disabled_reason=user.disabled_reason,
            created_at=user.created_at,
            last_login_at=user.last_login_at,
        )


class UserPageResponse(BaseModel):
    users: list[AdminUser]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: last")

    @classmethod
    def of(cls, page: UserPage) -> UserPageResponse:
        return cls(users=[AdminUser.of(u) for u in page.users], next_cursor=page.next_cursor)


class AdminSession(BaseModel):
    """A session as an admin sees it: never its refresh token or hashes."""

    id: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str
    active: bool
    revoked_at: datetime | None
    revoked_reason: str | None

    @classmethod
    def of(cls, view: SessionView) -> AdminSession:
        session = view.session
        return cls(
            id=session.id,
            created_at=session.created_at,
            last_used_at=session.last_used_at,
            expires_at=session.expires_at,
            user_agent=session.user_agent,
            active=view.active,
            revoked_at=session.revoked_at,
            revoked_reason=session.revoked_reason,
        )


class AdminUserDetail(AdminUser):
    sessions: list[AdminSession]

    @classmethod
    def of_detail(cls, detail: UserDetail) -> AdminUserDetail:
        summary = AdminUser.of(detail.user).model_dump()
        return cls(**summary, sessions=[AdminSession.of(v) for v in detail.sessions])


class RoleInfo(BaseModel):
    name: str
    scopes: list[str]
    built_in: bool

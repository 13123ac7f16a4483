"""Bodies of the token and session endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, StringConstraints

from auth_api.api.account_schemas import StrictRequest
from auth_api.model.session import Session
from auth_api.sessions.service import TokenPair

# Generous on purpose: a wrong token of any plausible size (an access token, say) must
# get the same 401 as every other wrong token, not a 422. Visible ASCII, as every token
# is: so the largest valid body (4,096 characters, a few escaped) stays far below the
# body limit, and a valid request is never a 413.
RefreshTokenValue = Annotated[
    str, StringConstraints(min_length=1, max_length=4096, pattern=r"^[\x21-\x7e]+$")
]


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the scheme's name
    expires_in: int
    # Absent when the token went into the HttpOnly cookie instead.
    refresh_token: str | None = None
    refresh_expires_in: int

    @classmethod
    def of(cls, pair: TokenPair, include_refresh: bool) -> TokenResponse:
        return cls(
            access_token=pair.access.token,
            expires_in=pair.access.expires_in,
            refresh_token=pair.refresh_token if include_refresh else None,
            refresh_expires_in=pair.refresh_expires_in,
        )


class RefreshRequest(StrictRequest):
    refresh_token: RefreshTokenValue


class SessionResponse(BaseModel):
    id: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str
    current: bool

    @classmethod
    def of(cls, session: Session, current_id: str) -> SessionResponse:
        return cls(
            id=session.id,
            created_at=session.created_at,
            last_used_at=session.last_used_at,
            expires_at=session.expires_at,
            user_agent=session.user_agent,
            current=session.id == current_id,
        )

"""Request and response bodies. Requests forbid unknown fields, so nothing a client
sends can set a role, an id or a hash; strict strings keep operator objects out."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from auth_api.model.user import User
from auth_api.passwords.policy import MAX_LENGTH, MIN_LENGTH

# Generous: policy.py gives the precise length message; this only bounds the work.
Password = Annotated[str, StringConstraints(min_length=1, max_length=MAX_LENGTH * 4)]
# `minLength` is documented, not checked here: policy.py refuses shorter passwords with
# its own message, as WEAK_PASSWORD, like every other password rule.
NewPassword = Annotated[
    Password,
    Field(
        json_schema_extra={"minLength": MIN_LENGTH},
        description=f"{MIN_LENGTH} to {MAX_LENGTH} code points (after NFC normalisation), no "
        "composition rules, and hard to guess: a zxcvbn score of at least "
        "AUTH_PASSWORD_MIN_SCORE (3 by default), judged with the email and display name. "
        "Otherwise 422 WEAK_PASSWORD, whose errors say why and how to fix it.",
    ),
]
# `format: email` tells clients what is expected; the server's own check is stricter
# than the format (see README, "Passwords and accounts") and answers 422 at registration.
Email = Annotated[
    str,
    StringConstraints(min_length=3, max_length=254, strip_whitespace=True),
    Field(json_schema_extra={"format": "email"}),
]
DisplayName = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]


class StrictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class RegisterRequest(StrictRequest):
    email: Email
    password: NewPassword
    display_name: DisplayName | None = None


class LoginRequest(StrictRequest):
    email: Email
    password: Password


class UserResponse(BaseModel):
    id: str
    email: str
    display_name: str
    created_at: datetime
    email_verified: bool

    @classmethod
    def of(cls, user: User) -> UserResponse:
        return cls(
            id=user.id,
            email=user.email,
            display_name=user.display_name,
            created_at=user.created_at,
            email_verified=user.email_verified,
        )


class MeResponse(UserResponse):
    roles: list[str]

    @classmethod
    def of_token(cls, user: User, roles: Iterable[str]) -> MeResponse:
        """`roles`: those of the caller's token. A role change ends every token issued
        before it, so a live token's roles are the stored ones; and unlike a cached
        profile they are the same on every instance."""
        return cls(
            id=user.id,
            email=user.email,
            display_name=user.display_name,
            created_at=user.created_at,
            email_verified=user.email_verified,
            roles=sorted(roles),
        )

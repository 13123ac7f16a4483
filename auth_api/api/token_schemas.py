"""Bodies of the key set, introspection and readiness answers. These routes answer with a
JSONResponse of their own (for its headers or status), so the models only document."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PublicKey(BaseModel):
    """One JWK (RFC 7517); the members of its key type (`n`, `e`, `crv`, `x`, `y`) too."""

    model_config = ConfigDict(extra="allow")

    kty: str
    kid: str
    alg: str
    use: Literal["sig"]


class KeySetResponse(BaseModel):
    # Empty when tokens are signed with a shared secret (HS256), which is never published.
    keys: list[PublicKey]


class IntrospectionResponse(BaseModel):
    """RFC 7662. An inactive token gets `{"active": false}` and nothing else."""

    active: bool
    sub: str | None = None
    sid: str | None = None
    jti: str | None = None
    iat: int | None = None
    exp: int | None = None
    iss: str | None = None
    aud: str | None = None
    token_type: Literal["access_token"] | None = None


class OutboxStatus(BaseModel):
    status: Literal["ok", "stale", "unknown"]
    backlog: int | None = None
    oldest_age_seconds: float | None = None


class ReadinessResponse(BaseModel):
    """Ready when this process started, reaches MongoDB and was not refused its event
    topics (its own startup step). Redis, Kafka and the outbox are shared by every
    process: listed, never a reason to be unready."""

    status: Literal["ready", "not ready"]
    # "startup": "ok" or "starting"; each server by name ("mongodb", "redis"): "ok" or
    # "unavailable".
    checks: dict[str, Literal["ok", "unavailable", "starting"]]
    # The servers this process cannot reach that do not make it unready: the requests
    # needing them fail (Redis: authenticated requests get 503), the others are served.
    degraded: list[str]
    outbox: OutboxStatus
    topics: str = Field(
        description='The event topics: "ok"; "pending" until Kafka answers; "failed: <reason>"'
        ' when the broker refused to create them (not ready); or "disabled"',
        examples=["ok", "failed: user.registered: error code 38: ..."],
    )

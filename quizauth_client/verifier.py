"""Token verification for quiz services: the header must type the token `at+jwt`, the
signature must verify with the JWKS key its kid names, under the algorithm that key
declares, every claim is required, then the denylist decides. Whatever a token holds,
the outcome is an AuthenticatedUser or a TokenRejected, never another exception."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

import jwt
from jwt import PyJWK

from quizauth_client.denylist import Denylist, DenylistUnavailable
from quizauth_client.jwks import JwksCache, JwksUnavailable
from quizauth_wire import REQUIRED_CLAIMS, USER_ROLE, access_token_kid, read_access_claims

# Far above any token the auth service issues (as its own limit).
MAX_TOKEN_LENGTH = 4096


class TokenRejected(Exception):
    """Not a valid, live access token. `unavailable` when that could not be decided (the
    revocations or the key set could not be read, or are too far behind): a 503 to
    retry, not a 401."""

    def __init__(self, reason: str, unavailable: bool = False) -> None:
        super().__init__(reason)
        self.unavailable = unavailable


@dataclass(frozen=True)
class AuthenticatedUser:
    user_id: str
    session_id: str
    claims: dict[str, Any]
    # `user` always; `admin` and the roles of the auth service's AUTH_ROLES when granted.
    roles: frozenset[str] = frozenset({USER_ROLE})
    # What the roles grant (the token's space-separated `scope`).
    scopes: frozenset[str] = field(default_factory=frozenset)


class TokenVerifier:
    def __init__(
        self,
        jwks: JwksCache,
        denylist: Denylist,
        issuer: str,
        audience: str,
        leeway_seconds: int = 10,
    ) -> None:
        """`leeway_seconds` must not exceed the auth service's AUTH_JWT_LEEWAY_SECONDS:
        a revocation is kept only that long past the token's expiry."""
        self._jwks = jwks
        self._denylist = denylist
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds

    async def verify(self, token: str) -> AuthenticatedUser:
        claims = await self._decode(token)
        read = read_access_claims(claims)  # the reading the auth service shares
        if read is None:
            raise TokenRejected("not an access token of this service")
        try:
            revoked = await self._denylist.is_revoked(
                read.jti, read.user_id, read.session_id, read.issued_at
            )
        except Exception as exc:
            if not is_unavailability(exc):
                raise
            # Fail closed: a token whose revocation cannot be checked is not accepted.
            raise TokenRejected("revocation check unavailable", unavailable=True) from exc
        if revoked:
            raise TokenRejected("revoked")
        return AuthenticatedUser(read.user_id, read.session_id, claims, read.roles, read.scopes)

    async def _decode(self, token: str) -> dict[str, Any]:
        kid = access_token_kid(token) if len(token) <= MAX_TOKEN_LENGTH else None
        if kid is None:
            raise TokenRejected("malformed or not an access token")
        try:
            key = await self._jwks.key_for(kid)
        except JwksUnavailable as exc:
            raise TokenRejected("signing keys unavailable", unavailable=True) from exc
        if key is None:
            raise TokenRejected("unknown key")
        return self._verified_claims(token, key)

    def _verified_claims(self, token: str, key: PyJWK) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[key.algorithm_name],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.PyJWTError as exc:
            raise TokenRejected("invalid token") from exc
        return claims


def is_unavailability(error: Exception) -> bool:
    """The revocation source could not answer: it says so (DenylistUnavailable), or a
    connection failed, or redis-py raised for a source on Redis. redis-py is looked up
    only among the modules already loaded: the events mode does not need it installed,
    and a RedisError can only come from a process that imported it."""
    if isinstance(error, (DenylistUnavailable, OSError)):
        return True
    redis_errors = sys.modules.get("redis.exceptions")
    return redis_errors is not None and isinstance(error, redis_errors.RedisError)

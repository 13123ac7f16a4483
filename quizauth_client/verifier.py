"""Token verification for quiz services: signature by the JWKS key its kid names, the
algorithm that key declares, every claim required, then the denylist."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jwt
from redis.exceptions import RedisError

from quizauth_client.jwks import JwksCache
from quizauth_client.revocation import RedisDenylist
from quizauth_wire import (
    ACCESS_TOKEN_TYPE,
    REQUIRED_CLAIMS,
    ROLES_CLAIM,
    SCOPE_CLAIM,
    USER_ROLE,
    roles_from_claim,
    scopes_from_claim,
)


class TokenRejected(Exception):
    """Not a valid, live access token. `unavailable` when revocation could not be checked."""

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
        denylist: RedisDenylist,
        issuer: str,
        audience: str,
        leeway_seconds: int = 10,
    ) -> None:
        self._jwks = jwks
        self._denylist = denylist
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds

    async def verify(self, token: str) -> AuthenticatedUser:
        claims = await self._decode(token)
        try:
            revoked = await self._denylist.is_revoked(
                claims["jti"], claims["sub"], claims["sid"], int(claims["iat"])
            )
        except (RedisError, OSError) as exc:
            # Fail closed: a token whose revocation cannot be checked is not accepted.
            raise TokenRejected("revocation check unavailable", unavailable=True) from exc
        if revoked:
            raise TokenRejected("revoked")
        roles = roles_from_claim(claims.get(ROLES_CLAIM))
        scopes = scopes_from_claim(claims.get(SCOPE_CLAIM))
        if roles is None or scopes is None:
            raise TokenRejected("malformed roles or scope")
        return AuthenticatedUser(claims["sub"], claims["sid"], claims, roles, scopes)

    async def _decode(self, token: str) -> dict[str, Any]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = await self._jwks.key_for(kid) if isinstance(kid, str) else None
            if key is None:
                raise TokenRejected("unknown key")
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
        if claims.get("token_type") != ACCESS_TOKEN_TYPE:
            raise TokenRejected("not an access token")
        return claims

"""Access tokens: short-lived JWTs, every claim required, one pinned algorithm."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import jwt

from auth_api.errors import NotAuthenticated

ALGORITHM = "HS256"
ACCESS_TOKEN_TYPE = "access"  # noqa: S105 - a claim value, not a secret
REQUIRED_CLAIMS = ["sub", "jti", "iat", "exp", "iss", "aud", "token_type"]
# Far above any token we issue; decoding a megabyte of base64 is wasted work.
MAX_TOKEN_LENGTH = 4096


@dataclass(frozen=True)
class IssuedToken:
    token: str
    jti: str
    expires_in: int


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    jti: str
    issued_at: int
    expires_at: int

    def remaining_seconds(self, now: float | None = None) -> int:
        return max(0, self.expires_at - int(now if now is not None else time.time()))


class AccessTokenCodec:
    def __init__(
        self, secret: bytes, issuer: str, audience: str, ttl_seconds: int, leeway_seconds: int
    ) -> None:
        self._secret = secret
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl_seconds
        self._leeway = leeway_seconds

    def issue(self, user_id: str) -> IssuedToken:
        now = int(time.time())
        jti = secrets.token_urlsafe(16)  # 128 random bits
        claims = {
            "sub": user_id,
            "jti": jti,
            "iat": now,
            "exp": now + self._ttl,
            "iss": self._issuer,
            "aud": self._audience,
            "token_type": ACCESS_TOKEN_TYPE,
        }
        token = jwt.encode(claims, self._secret, algorithm=ALGORITHM, headers={"typ": "at+jwt"})
        return IssuedToken(token=token, jti=jti, expires_in=self._ttl)

    def verify(self, token: str) -> AccessClaims:
        """Claims of a genuine, unexpired access token; NotAuthenticated for anything else."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise NotAuthenticated
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError as exc:
            raise NotAuthenticated from exc
        return self._to_claims(claims)

    @staticmethod
    def _to_claims(claims: dict[str, object]) -> AccessClaims:
        sub, jti, iat, exp = claims["sub"], claims["jti"], claims["iat"], claims["exp"]
        if claims["token_type"] != ACCESS_TOKEN_TYPE:
            raise NotAuthenticated
        if not (
            isinstance(sub, str)
            and isinstance(jti, str)
            and isinstance(iat, int)
            and isinstance(exp, int)
        ):
            raise NotAuthenticated
        return AccessClaims(user_id=sub, jti=jti, issued_at=iat, expires_at=exp)

"""Access tokens: short-lived JWTs, every claim required, typed `at+jwt` in the header,
the algorithm pinned by the key id rather than chosen by the token."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import jwt

from auth_api.errors import NotAuthenticated
from auth_api.model.clock import SYSTEM_CLOCK, Clock
from auth_api.model.roles import BUILT_IN_CATALOG, RoleCatalog
from auth_api.model.user import DEFAULT_ROLES
from auth_api.tokens.claims import AccessClaims
from auth_api.tokens.keys import KeySet
from auth_api.tokens.verified_cache import VerifiedTokenCache
from quizauth_wire import (
    ACCESS_TOKEN_TYP_HEADER,
    ACCESS_TOKEN_TYPE,
    EMAIL_VERIFIED_CLAIM,
    REQUIRED_CLAIMS,
    ROLES_CLAIM,
    SCOPE_CLAIM,
    access_token_kid,
    read_access_claims,
    scope_claim,
    with_user_role,
)

# Far above any token we issue; decoding a megabyte of base64 is wasted work.
MAX_TOKEN_LENGTH = 4096


@dataclass(frozen=True)
class IssuedToken:
    token: str
    jti: str
    expires_in: int


class AccessTokenCodec:
    def __init__(
        self,
        keys: KeySet,
        issuer: str,
        audience: str,
        ttl_seconds: int,
        leeway_seconds: int,
        cache_entries: int = 10_000,
        clock: Clock = SYSTEM_CLOCK,
        roles: RoleCatalog = BUILT_IN_CATALOG,
    ) -> None:
        self._clock = clock
        self.roles = roles
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.ttl_seconds = ttl_seconds
        self._leeway = leeway_seconds
        self._verified = VerifiedTokenCache(cache_entries, leeway_seconds)

    def issue(
        self,
        user_id: str,
        session_id: str,
        roles: Iterable[str] = DEFAULT_ROLES,
        as_of: datetime | None = None,
        email_verified: bool = False,
    ) -> IssuedToken:
        """A token for these roles, with the scopes they grant. `as_of`, when given, is
        when the roles were read from the store, and becomes `iat`: a role change or a
        disable denies every token issued before it (valid-after, written after the
        change), so a token carrying what was read before the change must not be
        stamped later than that read."""
        now = int((as_of or self._clock.now()).timestamp())
        jti = secrets.token_urlsafe(16)  # 128 random bits
        granted = with_user_role(roles)
        claims: dict[str, object] = {
            "sub": user_id,
            "jti": jti,
            "sid": session_id,
            "iat": now,
            "exp": now + self.ttl_seconds,
            "iss": self.issuer,
            "aud": self.audience,
            "token_type": ACCESS_TOKEN_TYPE,
            ROLES_CLAIM: sorted(granted),
            SCOPE_CLAIM: scope_claim(self.roles.scopes_for(granted)),
            EMAIL_VERIFIED_CLAIM: email_verified,
        }
        key = self.keys.active
        headers = {"typ": ACCESS_TOKEN_TYP_HEADER, "kid": key.kid}
        token = jwt.encode(claims, key.signing, algorithm=key.algorithm, headers=headers)
        return IssuedToken(token=token, jti=jti, expires_in=self.ttl_seconds)

    def denial_seconds(self, expires_at: int | None = None) -> int:
        """How long a revocation must last to outlive what it revokes: the token expiring
        at `expires_at`, or by default any token issued from now on, plus the leeway
        `verify` grants past expiry. A denial gone at `exp` would let the token back in."""
        if expires_at is None:
            remaining = self.ttl_seconds
        else:
            remaining = max(0, expires_at - int(self._clock.now().timestamp()))
        # + 1: margin for a token issued while the revocation is being written (a
        # refresh that passed its check a moment before the session ended).
        return remaining + self._leeway + 1

    def verify(self, token: str) -> AccessClaims:
        """Claims of a genuine, unexpired access token; NotAuthenticated for anything else."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise NotAuthenticated
        cached = self._verified.get(token)
        if cached is not None:
            return cached
        claims = self._verify_signature_and_claims(token)
        self._verified.put(token, claims)
        return claims

    def _verify_signature_and_claims(self, token: str) -> AccessClaims:
        # The header is parsed once, by the wire contract's parser, which never raises
        # and refuses a token that is not typed as an access token.
        key = self.keys.for_kid(access_token_kid(token))
        if key is None:
            raise NotAuthenticated
        try:
            claims = jwt.decode(
                token,
                key.verifying,
                algorithms=[key.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self._leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.PyJWTError as exc:
            raise NotAuthenticated from exc
        return self._to_claims(claims)

    @staticmethod
    def _to_claims(claims: dict[str, object]) -> AccessClaims:
        read = read_access_claims(claims)  # the reading quizauth_client shares
        if read is None:
            raise NotAuthenticated
        return AccessClaims(
            user_id=read.user_id,
            jti=read.jti,
            session_id=read.session_id,
            issued_at=read.issued_at,
            expires_at=read.expires_at,
            roles=read.roles,
            scopes=read.scopes,
        )

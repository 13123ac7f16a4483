"""Turns a bearer token into trusted claims: signature and claims first (no I/O), then
the revocation of the token, its session, or the user's tokens: one Redis round trip,
or none when the store's near cache holds the answer."""

from __future__ import annotations

from auth_api.errors import NotAuthenticated
from auth_api.security.stores import RevocationStore
from auth_api.tokens.access import AccessTokenCodec
from auth_api.tokens.claims import AccessClaims


class Authenticator:
    def __init__(self, codec: AccessTokenCodec, revocations: RevocationStore) -> None:
        self._codec = codec
        self._revocations = revocations

    async def authenticate(self, token: str) -> AccessClaims:
        claims = self._codec.verify(token)
        revoked = await self._revocations.is_revoked(
            claims.jti, claims.user_id, claims.session_id, claims.issued_at
        )
        if revoked:
            raise NotAuthenticated
        return claims

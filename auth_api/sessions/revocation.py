"""Token revocation (RFC 7009): a refresh token or an access token, whichever `token`
turns out to be; the hint only says which to try first. Each kind ends the way the API
already ends it, so the denials, the stored session and the events are those of any
other end: an access token like a logout with it (the token, its session, its refresh
token; `user.logged_out`), a refresh token like ending its session (`session.revoked`,
reason `revoked`). Anything else, invalid or already revoked, changes nothing and is
not an error (RFC 7009 section 2.2)."""

from __future__ import annotations

import logging
from enum import StrEnum

from auth_api.errors import NotAuthenticated, UnsupportedTokenType
from auth_api.sessions.service import SessionService
from auth_api.tokens.authenticator import Authenticator

audit = logging.getLogger("auth_api.audit")


class TokenTypeHint(StrEnum):
    ACCESS_TOKEN = "access_token"  # noqa: S105 - a token type, not a secret
    REFRESH_TOKEN = "refresh_token"  # noqa: S105


def parse_hint(value: str | None) -> TokenTypeHint | None:
    """The hint, if any; a type this service does not issue is `unsupported_token_type`."""
    if value is None:
        return None
    try:
        return TokenTypeHint(value)
    except ValueError:
        raise UnsupportedTokenType from None


class TokenRevocation:
    def __init__(self, sessions: SessionService, authenticator: Authenticator) -> None:
        self._sessions = sessions
        self._authenticator = authenticator

    async def revoke(self, token: str, hint: TokenTypeHint | None, client_id: str | None) -> bool:
        """True when `token` was one of ours and is now revoked. `client_id`: the service
        that asked, None for the token's own holder."""
        attempts = [
            (TokenTypeHint.ACCESS_TOKEN, self._revoke_access),
            (TokenTypeHint.REFRESH_TOKEN, self._revoke_refresh),
        ]
        if hint is TokenTypeHint.REFRESH_TOKEN:
            attempts.reverse()
        for kind, attempt in attempts:
            if await attempt(token):
                audit.info(
                    "token revoked",
                    extra={"audit": "token_revoked", "revoked_type": kind, "client_id": client_id},
                )
                return True
        return False

    async def _revoke_access(self, token: str) -> bool:
        try:
            claims = await self._authenticator.authenticate(token)
        except NotAuthenticated:
            return False  # forged, expired, already revoked, or not an access token
        await self._sessions.end_current(claims)
        return True

    async def _revoke_refresh(self, token: str) -> bool:
        return await self._sessions.end_by_refresh_token(token)

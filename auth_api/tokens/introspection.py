"""RFC 7662 token introspection, for services that prefer asking to verifying."""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
from typing import Any

from auth_api.errors import AuthServiceError, InvalidClient, RateLimited
from auth_api.security.addresses import limit_subject
from auth_api.security.stores import LimitRule, RateLimiter
from auth_api.tokens.access import AccessTokenCodec
from auth_api.tokens.authenticator import Authenticator

audit = logging.getLogger("auth_api.audit")


def parse_clients(pairs: list[str]) -> dict[str, str]:
    """`client_id:secret` pairs from the settings."""
    clients: dict[str, str] = {}
    for pair in pairs:
        client_id, sep, secret = pair.partition(":")
        if not sep or not client_id or len(secret) < 16:
            raise ValueError("AUTH_INTROSPECTION_CLIENTS entries must be id:secret (16+ chars)")
        clients[client_id] = secret
    return clients


def authenticate_client(authorization: str | None, clients: dict[str, str]) -> str:
    """The client id of valid HTTP Basic credentials; InvalidClient otherwise."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic" or not clients:
        raise InvalidClient
    try:
        decoded = base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidClient from exc
    client_id, _, secret = decoded.partition(":")
    expected = clients.get(client_id, "")
    # Compared even for unknown ids, so timing does not reveal which ids exist.
    if not hmac.compare_digest(secret.encode(), expected.encode()) or not expected:
        raise InvalidClient
    return client_id


class IntrospectionGate:
    """Client authentication with a bound on guessing: an address whose credentials
    keep failing is refused (429) for the rest of the window, whatever it sends then.
    Only failures count, so a busy quiz service is never throttled."""

    def __init__(
        self, clients: dict[str, str], limiter: RateLimiter, limit: int, window_seconds: int
    ) -> None:
        self._clients = clients
        self._limiter = limiter
        self._limit = limit
        self._window_seconds = window_seconds

    async def authenticate(self, authorization: str | None, client_ip: str) -> str:
        rule = LimitRule(
            f"introspect:ip:{limit_subject(client_ip)}", self._limit, self._window_seconds
        )
        if not (decision := await self._limiter.peek(rule)).allowed:
            self._refuse(rule, decision.retry_after_seconds)
        try:
            return authenticate_client(authorization, self._clients)
        except InvalidClient:
            if not (decision := await self._limiter.hit([rule])).allowed:
                self._refuse(rule, decision.retry_after_seconds)
            raise

    async def authenticate_if_basic(self, authorization: str | None, client_ip: str) -> str | None:
        """For revocation, where a client may also come without credentials and let the
        token prove itself: None for no Authorization header or a bearer one (a client
        sending the token it holds); anything else is checked, and counted, as above."""
        scheme = (authorization or "").partition(" ")[0].lower()
        if authorization is None or scheme == "bearer":
            return None
        return await self.authenticate(authorization, client_ip)

    @staticmethod
    def _refuse(rule: LimitRule, retry_after_seconds: int) -> None:
        audit.info("throttled", extra={"audit": "rate_limited", "rule": rule.key})
        raise RateLimited(retry_after_seconds)


async def introspect(
    token: str, authenticator: Authenticator, codec: AccessTokenCodec
) -> dict[str, Any]:
    """`active: false` for anything revoked, expired, forged or malformed, and nothing
    else: an inactive token's claims are none of the caller's business."""
    try:
        claims = await authenticator.authenticate(token)
    except AuthServiceError as exc:
        if exc.status >= 500:
            raise
        return {"active": False}
    return {
        "active": True,
        "sub": claims.user_id,
        "sid": claims.session_id,
        "jti": claims.jti,
        "iat": claims.issued_at,
        "exp": claims.expires_at,
        "iss": codec.issuer,
        "aud": codec.audience,
        "token_type": "access_token",
    }

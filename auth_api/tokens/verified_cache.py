"""Remembers tokens whose signature and claims were already verified.

A client sends the same access token on every request for up to 15 minutes; checking
its signature once is enough, because the same bytes verify the same way every time.
Expiry is re-checked on every hit, and revocation is never cached (it is the caller's
Redis check). Bounded, least recently used first out."""

from __future__ import annotations

import time
from collections import OrderedDict

from auth_api.tokens.claims import AccessClaims


class VerifiedTokenCache:
    def __init__(self, max_entries: int, leeway_seconds: int) -> None:
        self._max = max_entries
        self._leeway = leeway_seconds
        self._entries: OrderedDict[str, AccessClaims] = OrderedDict()

    def get(self, token: str) -> AccessClaims | None:
        claims = self._entries.get(token)
        if claims is None:
            return None
        if claims.expires_at + self._leeway <= time.time():
            del self._entries[token]
            return None
        self._entries.move_to_end(token)
        return claims

    def put(self, token: str, claims: AccessClaims) -> None:
        if self._max <= 0:
            return
        self._entries[token] = claims
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

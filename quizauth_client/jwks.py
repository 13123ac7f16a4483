"""The auth service's public keys, fetched once and kept; fetched again when a token
names a key we do not know (a rotation), at most once per cool-down."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import jwt
from jwt import PyJWK

# Only public-key algorithms: a verifier holding no secret cannot be fooled by HS256.
ACCEPTED_ALGORITHMS = frozenset({"ES256", "EdDSA", "RS256"})


class JwksCache:
    def __init__(
        self,
        jwks_url: str,
        http: httpx.AsyncClient,
        max_age: float = 300.0,
        refetch_cooldown: float = 5.0,
    ) -> None:
        self._url = jwks_url
        self._http = http
        self._max_age = max_age
        self._cooldown = refetch_cooldown
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def key_for(self, kid: str) -> PyJWK | None:
        if kid not in self._keys or self._stale():
            await self._refresh(force=kid not in self._keys)
        return self._keys.get(kid)

    def _stale(self) -> bool:
        return time.monotonic() - self._fetched_at > self._max_age

    async def _refresh(self, force: bool) -> None:
        async with self._lock:  # one fetch for a burst of tokens with a new kid
            since = time.monotonic() - self._fetched_at
            if since < self._cooldown or (not force and not self._stale()):
                return
            response = await self._http.get(self._url)
            response.raise_for_status()
            self._keys = parse_jwks(response.json())
            self._fetched_at = time.monotonic()


def parse_jwks(document: dict[str, Any]) -> dict[str, PyJWK]:
    keys: dict[str, PyJWK] = {}
    for entry in document.get("keys", []):
        if entry.get("alg") in ACCEPTED_ALGORITHMS and isinstance(entry.get("kid"), str):
            try:
                keys[entry["kid"]] = PyJWK.from_dict(entry)
            except jwt.PyJWTError:
                continue  # one bad key must not hide the others
    return keys

"""The auth service's public keys, fetched once and kept; fetched again when they are
older than `max_age`, or when a token names a key we do not know (a rotation), at most
once per cool-down.

While the auth service cannot be reached, the keys last fetched keep verifying for
`stale_grace` seconds past `max_age`, so a short outage of the auth service does not
take every quiz service down with it. Past that, or for a key never seen, verification
is unavailable (a 503), never a 500 and never a 401 that would log players out."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
from jwt import PyJWK

# Only public-key algorithms: a verifier holding no secret cannot be fooled by HS256.
ACCEPTED_ALGORITHMS = frozenset({"ES256", "EdDSA", "RS256"})


class JwksUnavailable(Exception):
    """The key set could not be fetched and no usable copy is held."""


class JwksCache:
    def __init__(
        self,
        jwks_url: str,
        http: httpx.AsyncClient,
        max_age: float = 300.0,
        refetch_cooldown: float = 5.0,
        stale_grace: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._url = jwks_url
        self._http = http
        self._max_age = max_age
        self._cooldown = refetch_cooldown
        self._grace = stale_grace
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at = float("-inf")  # last successful fetch
        self._attempted_at = float("-inf")  # last fetch, failed or not
        self._failing = False
        self._lock = asyncio.Lock()

    async def key_for(self, kid: str) -> PyJWK | None:
        """The key named `kid`; None when the current key set has no such key.
        JwksUnavailable when that cannot be known: the key set could not be fetched, and
        the copy held is too old or lacks the key (it may be a new one)."""
        known = kid in self._keys
        if not known or self._age() > self._max_age:
            await self._refresh(force=not known)
        key = self._keys.get(kid)
        if self._failing and (key is None or self._age() > self._max_age + self._grace):
            raise JwksUnavailable(self._url)
        return key

    def _age(self) -> float:
        return self._clock() - self._fetched_at

    async def _refresh(self, force: bool) -> None:
        async with self._lock:  # one fetch for a burst of tokens with a new kid
            now = self._clock()
            if now - self._attempted_at < self._cooldown:
                return  # failed or not, the last attempt stands until the cool-down ends
            if not force and self._age() <= self._max_age:
                return  # refreshed by another task while this one waited
            self._attempted_at = now
            try:
                keys = await self._fetch()
            except JwksUnavailable:
                self._failing = True
                return
            self._keys, self._fetched_at, self._failing = keys, self._clock(), False

    async def _fetch(self) -> dict[str, PyJWK]:
        try:
            response = await self._http.get(self._url)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError, RecursionError) as exc:  # down, an error, not JSON
            raise JwksUnavailable(self._url) from exc
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise JwksUnavailable(self._url)
        return parse_jwks(document)


def parse_jwks(document: dict[str, Any]) -> dict[str, PyJWK]:
    keys: dict[str, PyJWK] = {}
    for entry in document.get("keys", []):
        if not isinstance(entry, dict):
            continue
        if entry.get("alg") in ACCEPTED_ALGORITHMS and isinstance(entry.get("kid"), str):
            try:
                keys[entry["kid"]] = PyJWK.from_dict(entry)
            except (jwt.PyJWTError, ValueError, TypeError, KeyError):
                continue  # one bad key must not hide the others
    return keys

"""Keys made on first start when none is configured, and kept in the store.

Without AUTH_JWT_SECRET or AUTH_JWT_KEYS_DIR the service signs with an asymmetric key
it generates itself (ES256 unless AUTH_JWT_ALGORITHM names another), so its JWKS is
all a verifier needs. Without AUTH_JWT_SECRET, the key refresh tokens are derived with
is generated the same way. Both live in the store (MongoDB: the `signing_keys`
collection), so every replica and every restart uses the same ones; in embedded mode,
in memory, lost on restart like everything else there.

The private key is stored as PEM, unencrypted: whoever can read that collection can
mint tokens. Deployments that keep their database less guarded than their secrets
mount AUTH_JWT_KEYS_DIR instead (README, "Signing keys")."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import Any

from auth_api.store.ports import KeyStore
from auth_api.tokens.keys import (
    SigningKey,
    asymmetric_key,
    generate_private_key,
    new_kid,
    parse_private_key,
    private_key_pem,
)

log = logging.getLogger(__name__)
ROTATION_KEY_ID = "refresh-rotation"
ROTATION_KEY_BYTES = 32


def signing_key_id(algorithm: str) -> str:
    """One document per algorithm: switching algorithms never reads a key of another."""
    return f"signing-{algorithm}"


async def generated_signing_key(store: KeyStore, algorithm: str, now: datetime) -> SigningKey:
    def make() -> dict[str, Any]:
        private = private_key_pem(generate_private_key(algorithm)).decode()
        return {
            "kid": new_kid(algorithm, now),
            "alg": algorithm,
            "private_key": private,
            "created_at": now,
        }

    document = await store.keep_first(signing_key_id(algorithm), make)
    try:
        private = parse_private_key(document["private_key"].encode())
        key = asymmetric_key(document["kid"], document["alg"], private)
    except (KeyError, AttributeError, ValueError, TypeError) as exc:
        raise RuntimeError(f"stored signing key {document.get('_id')!r} is unreadable") from exc
    if key.algorithm != algorithm:
        raise RuntimeError(f"stored signing key {document['_id']!r} is not {algorithm}")
    log.info("signing with the generated key %s (%s)", key.kid, key.algorithm)
    return key


async def generated_rotation_key(store: KeyStore, now: datetime) -> bytes:
    def make() -> dict[str, Any]:
        return {"key": secrets.token_hex(ROTATION_KEY_BYTES), "created_at": now}

    document = await store.keep_first(ROTATION_KEY_ID, make)
    try:
        key = bytes.fromhex(document["key"])
    except (KeyError, TypeError, ValueError) as exc:
        raise RuntimeError(f"stored key {ROTATION_KEY_ID!r} is unreadable") from exc
    if len(key) < ROTATION_KEY_BYTES:
        raise RuntimeError(f"stored key {ROTATION_KEY_ID!r} is too short")
    return key

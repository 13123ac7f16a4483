"""What the service signs with, from the settings: HS256 with AUTH_JWT_SECRET, the
keys of AUTH_JWT_KEYS_DIR, or by default a key generated once and kept in the store;
and the key refresh tokens are derived with (from the secret, or generated likewise)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from auth_api.settings import Settings, SigningAlgorithm
from auth_api.store.ports import KeyStore
from auth_api.tokens.generated_keys import generated_rotation_key, generated_signing_key
from auth_api.tokens.keys import KeySet, hmac_key, load_key_directory


@dataclass(frozen=True)
class Signing:
    keys: KeySet
    rotation_key: bytes


async def load_signing(settings: Settings, store: KeyStore, now: datetime) -> Signing:
    keys = await signing_keys(settings, store, now)
    rotation_key = settings.refresh_rotation_key or await generated_rotation_key(store, now)
    return Signing(keys, rotation_key)


async def signing_keys(settings: Settings, store: KeyStore, now: datetime) -> KeySet:
    algorithm = settings.signing_algorithm
    if algorithm is SigningAlgorithm.HS256:
        return KeySet(hmac_key(settings.signing_secret))
    if settings.jwt_keys_dir is not None:
        return load_key_directory(settings.jwt_keys_dir)
    return KeySet(await generated_signing_key(store, algorithm, now))

"""Signing keys. One key signs; every key in the set verifies, so a rotated-out key
keeps its tokens valid until they expire. Each key is bound to one algorithm, which
is what defeats algorithm-confusion attacks: the token's header never chooses it."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

ASYMMETRIC_ALGORITHMS = ("ES256", "EdDSA", "RS256")
MANIFEST = "keys.json"

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey


@dataclass(frozen=True)
class SigningKey:
    kid: str
    algorithm: str
    signing: bytes | PrivateKey
    verifying: bytes | PublicKey

    def public_jwk(self) -> dict[str, Any] | None:
        """The JWK of the public half; None for a shared secret, which is never published."""
        key = self.verifying
        if isinstance(key, bytes):
            return None
        if isinstance(key, rsa.RSAPublicKey):
            jwk = RSAAlgorithm.to_jwk(key, as_dict=True)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            jwk = ECAlgorithm.to_jwk(key, as_dict=True)
        else:
            jwk = OKPAlgorithm.to_jwk(key, as_dict=True)
        return {**jwk, "kid": self.kid, "alg": self.algorithm, "use": "sig"}


class KeySet:
    def __init__(self, active: SigningKey, others: list[SigningKey] | None = None) -> None:
        self.active = active
        self._by_kid = {key.kid: key for key in [*(others or []), active]}
        # The set is fixed once loaded: its public JWKS is built once, not per request.
        public = (key.public_jwk() for key in self._by_kid.values())
        self._jwks = {"keys": [jwk for jwk in public if jwk is not None]}
        self._algorithms = sorted({key.algorithm for key in self._by_kid.values()})

    def for_kid(self, kid: object) -> SigningKey | None:
        return self._by_kid.get(kid) if isinstance(kid, str) else None

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        return self._jwks

    def algorithms(self) -> list[str]:
        """The algorithms tokens are signed and verified with, as discovery lists them."""
        return self._algorithms


def hmac_key(secret: bytes) -> SigningKey:
    kid = "hs-" + hashlib.sha256(secret).hexdigest()[:12]
    return SigningKey(kid, "HS256", secret, secret)


def generate_private_key(algorithm: str) -> PrivateKey:
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ValueError(f"unsupported algorithm {algorithm!r}; use one of {ASYMMETRIC_ALGORITHMS}")


def private_key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def new_kid(algorithm: str, now: datetime) -> str:
    """A key id that says what the key is and when it was made, and is unique."""
    return f"{algorithm.lower()}-{now:%Y%m%d}-{secrets.token_hex(3)}"


def parse_private_key(pem: bytes) -> PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, PrivateKey):
        raise ValueError("unsupported private key type")
    return key


def load_private_key(path: Path) -> PrivateKey:
    return parse_private_key(path.read_bytes())


def asymmetric_key(kid: str, algorithm: str, private: PrivateKey) -> SigningKey:
    return SigningKey(kid, algorithm, private, private.public_key())


def load_key_directory(directory: Path) -> KeySet:
    """Keys parsed once at startup: reparsing a PEM per token costs milliseconds."""
    manifest = json.loads((directory / MANIFEST).read_text())
    keys = [
        asymmetric_key(entry["kid"], entry["alg"], load_private_key(directory / entry["file"]))
        for entry in manifest["keys"]
    ]
    active = next((k for k in keys if k.kid == manifest["active"]), None)
    if active is None:
        raise ValueError(f"{directory / MANIFEST}: active key {manifest['active']!r} not found")
    return KeySet(active, keys)

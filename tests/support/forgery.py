"""Building tokens the way an attacker would: any header, any payload, any signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a token, read without verifying anything."""
    header, payload, _ = token.split(".")
    return json.loads(unb64(header)), json.loads(unb64(payload))


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: str = "") -> str:
    encoded = [b64(json.dumps(part).encode()) for part in (header, claims)]
    return ".".join([*encoded, signature])


def hs256(header: dict[str, Any], claims: dict[str, Any], key: bytes) -> str:
    """HMAC-SHA256 over whatever header is given, as a forger with `key` would."""
    signing_input = unsigned(header, claims).rstrip(".")
    digest = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(digest)}"


def flip_first_signature_char(token: str) -> str:
    # Not the last character: its low bits may be base64 padding that decodes the same.
    head, _, signature = token.rpartition(".")
    first = "B" if signature[0] == "A" else "A"
    return f"{head}.{first}{signature[1:]}"

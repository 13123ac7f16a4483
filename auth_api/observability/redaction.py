"""Keeps secrets out of log lines: values under sensitive keys are replaced, and
bearer tokens or JWTs found inside any text (messages, tracebacks) are masked."""

from __future__ import annotations

import functools
import re
from typing import Any

REDACTED = "[REDACTED]"
# A key is sensitive when one of its words is one of these: `password`, `new_password`,
# `access_token`, `refresh-token`, `Authorization`, `jwt_secret`, `Set-Cookie`...
SENSITIVE_WORDS = frozenset(
    {"password", "passwd", "secret", "token", "authorization", "cookie", "apikey", "credentials"}
)
SENSITIVE_KEYS = frozenset({"api_key", "set_cookie", "password_hash", "hash"})
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_BEARER_HINT = re.compile("(?i)bearer")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}")
MAX_DEPTH = 6


@functools.lru_cache(maxsize=1024)  # few distinct keys, one check per field of every line
def is_sensitive_key(key: str) -> bool:
    lowered = key.lower()
    if lowered.replace("-", "_") in SENSITIVE_KEYS:
        return True
    return any(word in SENSITIVE_WORDS for word in _WORD_SPLIT.split(lowered))


def mask_text(text: str) -> str:
    # The cheap tests first: almost no line holds a credential.
    if "eyJ" in text:
        text = _JWT.sub(REDACTED, text)
    if _BEARER_HINT.search(text):
        text = _BEARER.sub(_masked_bearer, text)
    return text


def _masked_bearer(match: re.Match[str]) -> str:
    return f"{match.group(1)} {REDACTED}"


def redact(value: Any, depth: int = 0) -> Any:
    """A copy of `value` with sensitive entries replaced; other values untouched."""
    if isinstance(value, str):
        return mask_text(value)
    if depth >= MAX_DEPTH:
        return value
    if isinstance(value, dict):
        return {
            key: REDACTED if is_sensitive_key(str(key)) else redact(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item, depth + 1) for item in value]
    return value

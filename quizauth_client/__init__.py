"""Verify quizauth access tokens inside a quiz service: locally against the JWKS, with
revocation checked in the auth service's Redis denylist (RedisDenylist), or kept from
its revocation events on Kafka (EventsDenylist). No shared secret needed.

The names below are imported on first use, not with the package: a quiz service needs
redis-py only for the Redis mode, and aiokafka only for the events mode."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quizauth_client.denylist import Denylist, DenylistUnavailable
    from quizauth_client.dependency import require_user
    from quizauth_client.events_mode import EventsDenylist, EventsModeSettings
    from quizauth_client.jwks import JwksCache, JwksUnavailable
    from quizauth_client.revocation import RedisDenylist
    from quizauth_client.verifier import AuthenticatedUser, TokenRejected, TokenVerifier

_MODULE_OF = {
    "AuthenticatedUser": "verifier",
    "Denylist": "denylist",
    "DenylistUnavailable": "denylist",
    "EventsDenylist": "events_mode",
    "EventsModeSettings": "events_mode",
    "JwksCache": "jwks",
    "JwksUnavailable": "jwks",
    "RedisDenylist": "revocation",
    "TokenRejected": "verifier",
    "TokenVerifier": "verifier",
    "require_user": "dependency",
}

__all__ = [
    "AuthenticatedUser",
    "Denylist",
    "DenylistUnavailable",
    "EventsDenylist",
    "EventsModeSettings",
    "JwksCache",
    "JwksUnavailable",
    "RedisDenylist",
    "TokenRejected",
    "TokenVerifier",
    "require_user",
]


def __getattr__(name: str) -> object:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)

"""Verify quizauth access tokens inside a quiz service: locally against the JWKS, with
revocation checked in the auth service's Redis denylist (RedisDenylist, or with a near
cache of it, NearCachedDenylist), or kept from its revocation events on Kafka
(EventsDenylist). No shared secret needed.

The names below are imported on first use, not with the package: a quiz service needs
redis-py only for the Redis modes, and aiokafka only for the events mode; and the auth
service imports `quizauth_client.near_cache`, which must bring in neither the web
framework (`require_user`) nor httpx (`JwksCache`), which the service does not install."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quizauth_client.denylist import Denylist, DenylistUnavailable
    from quizauth_client.dependency import (
        AuthProblem,
        install_problem_details,
        require_scope,
        require_user,
    )
    from quizauth_client.events_mode import EventsDenylist, EventsModeSettings
    from quizauth_client.jwks import JwksCache, JwksUnavailable
    from quizauth_client.near_cache import NearCache
    from quizauth_client.revocation import NearCachedDenylist, RedisDenylist
    from quizauth_client.verifier import AuthenticatedUser, TokenRejected, TokenVerifier

_MODULE_OF = {
    "AuthProblem": "dependency",
    "AuthenticatedUser": "verifier",
    "Denylist": "denylist",
    "DenylistUnavailable": "denylist",
    "EventsDenylist": "events_mode",
    "EventsModeSettings": "events_mode",
    "JwksCache": "jwks",
    "JwksUnavailable": "jwks",
    "NearCache": "near_cache",
    "NearCachedDenylist": "revocation",
    "RedisDenylist": "revocation",
    "TokenRejected": "verifier",
    "TokenVerifier": "verifier",
    "install_problem_details": "dependency",
    "require_scope": "dependency",
    "require_user": "dependency",
}

__all__ = [
    "AuthProblem",
    "AuthenticatedUser",
    "Denylist",
    "DenylistUnavailable",
    "EventsDenylist",
    "EventsModeSettings",
    "JwksCache",
    "JwksUnavailable",
    "NearCache",
    "NearCachedDenylist",
    "RedisDenylist",
    "TokenRejected",
    "TokenVerifier",
    "install_problem_details",
    "require_scope",
    "require_user",
]


def __getattr__(name: str) -> object:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)

"""Verify quizauth access tokens inside a quiz service: locally against the JWKS, with
revocation checked in the auth service's Redis denylist. No shared secret needed."""

from quizauth_client.dependency import require_user
from quizauth_client.jwks import JwksCache, JwksUnavailable
from quizauth_client.revocation import Denylist, RedisDenylist
from quizauth_client.verifier import AuthenticatedUser, TokenRejected, TokenVerifier

__all__ = [
    "AuthenticatedUser",
    "Denylist",
    "JwksCache",
    "JwksUnavailable",
    "RedisDenylist",
    "TokenRejected",
    "TokenVerifier",
    "require_user",
]

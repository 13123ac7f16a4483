"""Verify quizauth access tokens inside a quiz service: locally against the JWKS, with
revocation checked in the auth service's Redis denylist. No shared secret needed."""

from quizauth_client.dependency import (
    AuthProblem,
    install_problem_details,
    require_scope,
    require_user,
)
from quizauth_client.jwks import JwksCache
from quizauth_client.revocation import RedisDenylist
from quizauth_client.verifier import AuthenticatedUser, TokenRejected, TokenVerifier

__all__ = [
    "AuthProblem",
    "AuthenticatedUser",
    "JwksCache",
    "RedisDenylist",
    "TokenRejected",
    "TokenVerifier",
    "install_problem_details",
    "require_scope",
    "require_user",
]

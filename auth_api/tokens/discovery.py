"""The discovery document (`/.well-known/openid-configuration`): where a gateway or an
OAuth/OIDC library finds the JWKS, introspection and revocation. This service is not an
OpenID provider (no authorization endpoint, no ID tokens, no OAuth token endpoint), so
the document describes what it has and lists nothing it lacks; OIDC's required members
are present, with the values that say so."""

from __future__ import annotations

from typing import Any

from quizauth_wire import REQUIRED_CLAIMS

JWKS_PATH = "/.well-known/jwks.json"
INTROSPECTION_PATH = "/auth/introspect"
REVOCATION_PATH = "/auth/revoke"


def discovery_document(issuer: str, base_url: str, algorithms: list[str]) -> dict[str, Any]:
    return {
        "issuer": issuer,
        "jwks_uri": base_url + JWKS_PATH,
        "introspection_endpoint": base_url + INTROSPECTION_PATH,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic"],
        "revocation_endpoint": base_url + REVOCATION_PATH,
        # "none": a client may revoke a token it holds without credentials of its own.
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "none"],
        # Login and refresh authenticate users, never clients.
        "token_endpoint_auth_methods_supported": ["none"],
        # Access tokens' algorithms: no ID token is issued, but clients read this member.
        "id_token_signing_alg_values_supported": algorithms,
        # No authorization endpoint, no OAuth grant: explicit, since an omitted
        # grant_types_supported would mean authorization_code and implicit (RFC 8414).
        "response_types_supported": [],
        "grant_types_supported": [],
        "subject_types_supported": ["public"],
        "claims_supported": sorted(REQUIRED_CLAIMS),
    }

"""The wire contract between the auth service and the services that trust its tokens.

One module, standard library only, imported by the service (`auth_api`), the client
library (`quizauth_client`) and the reference consumers (`consumers`), so the writer
and the readers of each shared format cannot drift apart:

- the access token's required claims, its `token_type` claim and `typ` header;
- the roles and scopes a token carries, and how a reader parses them;
- the Redis key layout of the revocation denylist, and the check built on it;
- the event types, the topic each is published to, and why sessions are revoked;
- the RFC 3339 timestamps events carry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

# --- Access tokens -------------------------------------------------------------------

ACCESS_TOKEN_TYPE = "access"  # noqa: S105 - a claim value, not a secret
ACCESS_TOKEN_TYP_HEADER = "at+jwt"  # noqa: S105 - RFC 9068 media type, not a secret
REQUIRED_CLAIMS: tuple[str, ...] = ("sub", "jti", "sid", "iat", "exp", "iss", "aud", "token_type")

# --- Roles and scopes ----------------------------------------------------------------
#
# An access token carries `roles` (a JSON array of role names, `user` always among them)
# and `scope` (the scopes those roles grant, space-separated, RFC 8693 section 4.2 and
# RFC 9068 section 2.2.3). Neither is required on decode: a token without them (issued
# before they existed) has the least privilege, `user` and no scope.

ROLES_CLAIM = "roles"
SCOPE_CLAIM = "scope"
USER_ROLE = "user"  # every user has it; implied, never granted or removed
ADMIN_ROLE = "admin"  # built in: the admin API needs it
BUILT_IN_ROLES = frozenset({USER_ROLE, ADMIN_ROLE})
MAX_ROLE_LENGTH = 32
_ROLE_NAME = re.compile(rf"[a-z][a-z0-9_-]{{0,{MAX_ROLE_LENGTH - 1}}}")
# RFC 6749 section 3.3 allows any printable ASCII but space, `"` and `\`; this is narrower,
# so that a scope is also safe in a log line, a URL and an environment variable.
_SCOPE_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}")


def is_role_name(name: str) -> bool:
    return _ROLE_NAME.fullmatch(name) is not None


def is_scope_token(scope: str) -> bool:
    return _SCOPE_TOKEN.fullmatch(scope) is not None


def with_user_role(roles: Iterable[str]) -> frozenset[str]:
    return frozenset(roles) | {USER_ROLE}


def roles_from_claim(value: object) -> frozenset[str] | None:
    """The roles of a decoded `roles` claim: `user` when absent, None when malformed (a
    token that says something unreadable about privileges is refused, not downgraded)."""
    if value is None:
        return frozenset({USER_ROLE})
    if not isinstance(value, list) or not all(
        isinstance(r, str) and is_role_name(r) for r in value
    ):
        return None
    return with_user_role(value)


def scopes_from_claim(value: object) -> frozenset[str] | None:
    """The scopes of a decoded `scope` claim: none when absent, None when malformed."""
    if value is None:
        return frozenset()
    if not isinstance(value, str):
        return None
    scopes = value.split(" ") if value else []
    if not all(is_scope_token(s) for s in scopes):
        return None
    return frozenset(scopes)


def scope_claim(scopes: Iterable[str]) -> str:
    return " ".join(sorted(scopes))


# --- The revocation denylist in Redis ------------------------------------------------

DEFAULT_REDIS_PREFIX = "auth:"


@dataclass(frozen=True)
class DenylistLayout:
    """Where revocations live, under one prefix (AUTH_REDIS_PREFIX):

    revoked:<jti>              "1": this access token is dead
    revoked-session:<sid>      "1": every access token of this session is dead
    valid-after:<user id>      seconds since epoch: the user's tokens issued earlier are dead

    Each key expires when the newest token it can deny would have expired anyway.
    """

    prefix: str = DEFAULT_REDIS_PREFIX

    def token_key(self, jti: str) -> str:
        return f"{self.prefix}revoked:{jti}"

    def session_key(self, session_id: str) -> str:
        return f"{self.prefix}revoked-session:{session_id}"

    def user_key(self, user_id: str) -> str:
        return f"{self.prefix}valid-after:{user_id}"

    def keys_for(self, jti: str, user_id: str, session_id: str) -> list[str]:
        """The keys one check reads, in the order `is_denied` expects their values."""
        return [self.token_key(jti), self.session_key(session_id), self.user_key(user_id)]


def is_denied(values: Sequence[bytes | str | None], issued_at: int) -> bool:
    """The decision on the values read from `keys_for`: a token is dead when it or its
    session was revoked, or when it was issued before its user's valid-after time."""
    token_denied, session_denied, valid_after = values
    if token_denied is not None or session_denied is not None:
        return True
    return valid_after is not None and issued_at < int(valid_after)


# --- Events --------------------------------------------------------------------------


class EventType(StrEnum):
    USER_REGISTERED = "user.registered"
    USER_LOGGED_IN = "user.logged_in"
    USER_LOGGED_OUT = "user.logged_out"
    SESSION_REVOKED = "session.revoked"
    USER_ROLES_CHANGED = "user.roles_changed"
    USER_DISABLED = "user.disabled"
    USER_ENABLED = "user.enabled"


class RevocationReason(StrEnum):
    """Why sessions ended: the `reason` of `session.revoked`, and the stored session's."""

    LOGOUT = "logout"
    LOGOUT_ALL = "logout_all"
    ENDED_BY_USER = "ended_by_user"
    REFRESH_TOKEN_REUSE = "refresh_token_reuse"  # noqa: S105 - a reason, not a secret
    ACCOUNT_DISABLED = "account_disabled"  # an admin disabled the account
    ENDED_BY_ADMIN = "ended_by_admin"  # an admin logged the user out everywhere


def topic_for(event_type: EventType | str, prefix: str = "") -> str:
    """Each event type has its own topic, named after it (under AUTH_KAFKA_TOPIC_PREFIX)."""
    return f"{prefix}{event_type}"


def rfc3339(moment: datetime) -> str:
    """Event timestamps: UTC, millisecond precision, `Z` suffix."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

"""The wire contract between the auth service and the services that trust its tokens.

One module, standard library only, imported by the service (`auth_api`), the client
library (`quizauth_client`) and the reference consumers (`consumers`), so the writer
and the readers of each shared format cannot drift apart:

- the access token's required claims, its `token_type` claim and `typ` header;
- the Redis key layout of the revocation denylist, and the check built on it;
- the event types, the topic each is published to, and why sessions are revoked;
- the RFC 3339 timestamps events carry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

# --- Access tokens -------------------------------------------------------------------

ACCESS_TOKEN_TYPE = "access"  # noqa: S105 - a claim value, not a secret
ACCESS_TOKEN_TYP_HEADER = "at+jwt"  # noqa: S105 - RFC 9068 media type, not a secret
REQUIRED_CLAIMS: tuple[str, ...] = ("sub", "jti", "sid", "iat", "exp", "iss", "aud", "token_type")

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


class RevocationReason(StrEnum):
    """Why sessions ended: the `reason` of `session.revoked`, and the stored session's."""

    LOGOUT = "logout"
    LOGOUT_ALL = "logout_all"
    ENDED_BY_USER = "ended_by_user"
    REFRESH_TOKEN_REUSE = "refresh_token_reuse"  # noqa: S105 - a reason, not a secret


def topic_for(event_type: EventType | str, prefix: str = "") -> str:
    """Each event type has its own topic, named after it (under AUTH_KAFKA_TOPIC_PREFIX)."""
    return f"{prefix}{event_type}"


def rfc3339(moment: datetime) -> str:
    """Event timestamps: UTC, millisecond precision, `Z` suffix."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

"""A mail as recorded in the user's document, in the same write as the state change that
causes it, and sent later by the mail relay (auth_api/mail). A crash or an SMTP outage
delays it; only its expiry, after which its link or its news is stale, ends it unsent."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class MailKind(StrEnum):
    VERIFY_EMAIL = "verify_email"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a kind of mail
    PASSWORD_RESET_NOTICE = "password_reset_notice"  # noqa: S105 - a kind of mail
    PASSWORD_CHANGED_NOTICE = "password_changed_notice"  # noqa: S105 - a kind of mail
    EMAIL_CHANGE_CONFIRM = "email_change_confirm"
    EMAIL_CHANGE_NOTICE = "email_change_notice"


# How long a notice (no link) is worth sending: an outage longer than this is an incident
# someone has seen, and news of a week-old change helps nobody.
NOTICE_LIFETIME = timedelta(days=7)


@dataclass(frozen=True)
class PendingMail:
    id: str
    kind: MailKind | str
    # None: the account's address at the time of sending (a reset requested by address
    # is recorded without reading the account first).
    to: str | None
    created_at: datetime
    expires_at: datetime
    # What the template needs beyond the account: the nonce its link's token is derived
    # from (never the token itself), a new address. Strings only.
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(
        cls,
        kind: MailKind,
        to: str | None,
        at: datetime,
        expires_at: datetime,
        params: dict[str, str] | None = None,
    ) -> PendingMail:
        return cls(str(uuid.uuid4()), kind, to, at, expires_at, dict(params or {}))

    def to_document(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": str(self.kind),
            "to": self.to,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "params": dict(self.params),
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> PendingMail:
        return cls(
            id=doc["id"],
            kind=str(doc["kind"]),
            to=doc.get("to"),
            created_at=doc["created_at"],
            expires_at=doc["expires_at"],
            params={str(k): str(v) for k, v in (doc.get("params") or {}).items()},
        )

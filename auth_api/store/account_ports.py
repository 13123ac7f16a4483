"""What the account lifecycle (verification, reset, password and email change, deletion,
export) and the mail relay need from the user store. Both adapters implement it in
their own module (mongo_accounts.py, memory_accounts.py) and one contract suite runs
against each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from auth_api.model.events import PendingEvent
from auth_api.model.mail import PendingMail
from auth_api.model.one_time_tokens import StoredToken, TokenPurpose
from auth_api.model.session import Session
from auth_api.model.user import User

# The user fields a change may set; each is a field of the stored document too.
CHANGEABLE_FIELDS = frozenset(
    {
        "email",
        "email_normalized",
        "display_name",
        "password_hash",
        "email_verified",
        "email_verified_at",
        "is_active",
        "deleted_at",
        "updated_at",
        "last_login_at",
    }
)
# Read, decide and write again this often when other writes keep winning the race.
CHANGE_ATTEMPTS = 5


@dataclass(frozen=True)
class Welcome:
    """Recorded with a new account, in its insert: the verification token and mail."""

    purpose: TokenPurpose
    token: StoredToken
    mail: PendingMail


@dataclass(frozen=True)
class AccountState:
    """What a change decides on: the user with its sessions, and its pending tokens."""

    user: User
    tokens: dict[str, StoredToken]


@dataclass
class AccountChange:
    """One single-document write: fields, tokens (None removes one), ended sessions, and
    the events and mails that report the change."""

    fields: dict[str, Any] = field(default_factory=dict)
    tokens: dict[str, StoredToken | None] = field(default_factory=dict)
    clear_tokens: bool = False
    ended_sessions: list[Session] = field(default_factory=list)
    clear_sessions: bool = False
    events: list[PendingEvent] = field(default_factory=list)
    mails: list[PendingMail] = field(default_factory=list)
    clear_mails: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.fields) - CHANGEABLE_FIELDS
        if unknown:
            raise ValueError(f"not changeable: {sorted(unknown)}")
        if self.clear_mails and self.mails:
            raise ValueError("a change cannot both clear and add mails")


Decide = Callable[[AccountState], AccountChange | None]


@dataclass(frozen=True)
class AccountRecord:
    """Everything stored about one user, for the export."""

    user: User
    tokens: dict[str, StoredToken]
    events: list[PendingEvent]
    mails: list[PendingMail]


@dataclass(frozen=True)
class UserMails:
    """One user's unsent mails, with what sending them needs from the account."""

    user_id: str
    address: str
    display_name: str
    mails: list[PendingMail]


class AccountStore(Protocol):
    async def account(self, user_id: str) -> AccountRecord | None: ...

    async def change_account(self, user_id: str, decide: Decide) -> AccountChange | None:
        """Read the account, let `decide` choose the change, and write it only if no other
        write came in between (else read and decide again). The change written, or None
        when the user is missing or `decide` declined. EmailAlreadyRegistered when the
        change takes an address another account holds: the unique index arbitrates."""

    async def issue_by_email(
        self, email_normalized: str, purpose: TokenPurpose, token: StoredToken, mail: PendingMail
    ) -> str | None:
        """Store the token and record the mail on the account with this address, in one
        write that is the whole work whether or not there is one: the user id, or None."""


class MailOutbox(Protocol):
    async def pending_mails(self, limit: int) -> list[UserMails]: ...

    async def pending_mails_of(self, user_id: str) -> UserMails | None: ...

    async def remove_mails(self, user_id: str, mail_ids: list[str]) -> None:
        """Remove sent (or expired) mails; removing one no longer there is harmless."""

    async def mail_backlog(self) -> int:
        """The number of unsent mails."""

"""The account lifecycle's writes and the mail outbox in the in-memory twin, with the
Mongo adapter's rules (mongo_accounts.py): a change and its events and mails land
together, the address stays unique, and a token is spent once."""

from __future__ import annotations

import copy
from dataclasses import replace

from auth_api.errors import EmailAlreadyRegistered
from auth_api.model.mail import PendingMail
from auth_api.model.one_time_tokens import StoredToken, TokenPurpose
from auth_api.model.user import User
from auth_api.store.account_ports import (
    AccountChange,
    AccountRecord,
    AccountState,
    Decide,
    UserMails,
    Welcome,
)
from auth_api.store.memory_outbox import MemoryOutbox


class MemoryAccounts:
    """Mixed into MemoryUserStore, whose dictionaries it shares."""

    _users: dict[str, User]
    _by_email: dict[str, str]
    _outbox: MemoryOutbox
    _versions: dict[str, int]
    _tokens: dict[str, dict[str, StoredToken]]
    _mails: dict[str, list[PendingMail]]

    def record_welcome(self, user_id: str, welcome: Welcome | None) -> None:
        self._tokens[user_id] = {str(welcome.purpose): welcome.token} if welcome else {}
        self._mails[user_id] = [welcome.mail] if welcome else []

    async def account(self, user_id: str) -> AccountRecord | None:
        user = self._users.get(user_id)
        if user is None:
            return None
        return AccountRecord(
            copy.deepcopy(user),
            dict(self._tokens.get(user_id, {})),
            pending.events if (pending := self._outbox.pending_of(user_id)) else [],
            list(self._mails.get(user_id, [])),
        )

    async def change_account(self, user_id: str, decide: Decide) -> AccountChange | None:
        # No await from the read to the write: atomic on one event loop.
        user = self._users.get(user_id)
        if user is None:
            return None
        change = decide(AccountState(copy.deepcopy(user), dict(self._tokens.get(user_id, {}))))
        if change is None:
            return None
        self._apply(user, change)
        return change

    def _apply(self, user: User, change: AccountChange) -> None:
        taken_by = self._by_email.get(change.fields.get("email_normalized", ""))
        if taken_by is not None and taken_by != user.id:
            raise EmailAlreadyRegistered
        if "email_normalized" in change.fields:
            self._by_email.pop(user.email_normalized, None)
            self._by_email[change.fields["email_normalized"]] = user.id
        for name, value in change.fields.items():
            setattr(user, name, value)
        self._apply_tokens(user.id, change)
        if change.clear_sessions:
            user.sessions = {}
        for session in change.ended_sessions:
            user.sessions[session.id] = replace(session)
        if change.events:
            self._outbox.record(user.id, change.events)
        self._versions[user.id] = self._versions.get(user.id, 0) + 1
        mails = [] if change.clear_mails else self._mails.get(user.id, [])
        self._mails[user.id] = [*mails, *change.mails]

    def _apply_tokens(self, user_id: str, change: AccountChange) -> None:
        tokens = {} if change.clear_tokens else self._tokens.get(user_id, {})
        for purpose, token in change.tokens.items():
            if token is None:
                tokens.pop(purpose, None)
            else:
                tokens[purpose] = token
        self._tokens[user_id] = tokens

    async def issue_by_email(
        self, email_normalized: str, purpose: TokenPurpose, token: StoredToken, mail: PendingMail
    ) -> str | None:
        user_id = self._by_email.get(email_normalized)
        if user_id is None or not self._users[user_id].is_active:
            return None
        self._tokens.setdefault(user_id, {})[str(purpose)] = token
        self._mails.setdefault(user_id, []).append(mail)
        self._versions[user_id] = self._versions.get(user_id, 0) + 1
        return user_id

    async def pending_mails(self, limit: int) -> list[UserMails]:
        found = [self._user_mails(uid) for uid, mails in self._mails.items() if mails]
        return [batch for batch in found if batch is not None][:limit]

    async def pending_mails_of(self, user_id: str) -> UserMails | None:
        return self._user_mails(user_id) if self._mails.get(user_id) else None

    def _user_mails(self, user_id: str) -> UserMails | None:
        user = self._users.get(user_id)
        if user is None:
            return None
        return UserMails(user_id, user.email, user.display_name, list(self._mails[user_id]))

    async def remove_mails(self, user_id: str, mail_ids: list[str]) -> None:
        gone = set(mail_ids)
        self._mails[user_id] = [m for m in self._mails.get(user_id, []) if m.id not in gone]

    async def mail_backlog(self) -> int:
        return sum(len(mails) for mails in self._mails.values())

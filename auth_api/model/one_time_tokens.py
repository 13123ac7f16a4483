"""Single-use tokens sent by mail: verify an address, reset a password, confirm a new
address.

A token is `<user id>.<secret>`. Only the secret's SHA-256 is stored on the account, with
its expiry. The secret is derived, with a server key, from a random 128-bit nonce that
travels in the pending mail and leaves the store with it once the mail is sent: the
store never holds the token, and the nonce alone yields nothing without the key. A new
token of a purpose replaces the previous one, whose link then stops working."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from auth_api.model.session import hash_secret

NONCE_BYTES = 16  # 128 random bits
MAX_TOKEN_LENGTH = 200


class TokenPurpose(StrEnum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"  # noqa: S105 - a purpose, not a secret
    CHANGE_EMAIL = "change_email"


LIFETIMES = {
    TokenPurpose.VERIFY_EMAIL: timedelta(hours=24),
    TokenPurpose.RESET_PASSWORD: timedelta(minutes=30),
    TokenPurpose.CHANGE_EMAIL: timedelta(hours=24),
}


@dataclass(frozen=True)
class StoredToken:
    """What the account keeps of a token: its hash and expiry, and for an email change
    the address it confirms."""

    hash: str
    expires_at: datetime
    new_email: str | None = None
    new_email_normalized: str | None = None

    def matches(self, secret_hash: str, now: datetime) -> bool:
        return hmac.compare_digest(self.hash, secret_hash) and now < self.expires_at

    def to_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"hash": self.hash, "expires_at": self.expires_at}
        if self.new_email is not None:
            doc["new_email"] = self.new_email
            doc["new_email_normalized"] = self.new_email_normalized
        return doc

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> StoredToken:
        return cls(
            hash=doc["hash"],
            expires_at=doc["expires_at"],
            new_email=doc.get("new_email"),
            new_email_normalized=doc.get("new_email_normalized"),
        )


@dataclass(frozen=True)
class MintedToken:
    nonce: str  # goes into the pending mail
    stored: StoredToken  # goes onto the account


@dataclass(frozen=True)
class PresentedToken:
    user_id: str
    secret: str

    @property
    def hash(self) -> str:
        return hash_secret(self.secret)

    @classmethod
    def parse(cls, raw: str) -> PresentedToken | None:
        user_id, dot, secret = raw.partition(".")
        if not dot or not user_id or not secret or len(raw) > MAX_TOKEN_LENGTH:
            return None
        return cls(user_id, secret)


class OneTimeTokens:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def mint(
        self,
        purpose: TokenPurpose,
        now: datetime,
        new_email: str | None = None,
        new_email_normalized: str | None = None,
    ) -> MintedToken:
        nonce = secrets.token_urlsafe(NONCE_BYTES)
        secret = self._secret(purpose, nonce)
        stored = StoredToken(
            hash_secret(secret), now + LIFETIMES[purpose], new_email, new_email_normalized
        )
        return MintedToken(nonce, stored)

    def token(self, purpose: TokenPurpose, user_id: str, nonce: str) -> str:
        """The token a mail's link carries, derived again when the mail is sent."""
        return f"{user_id}.{self._secret(purpose, nonce)}"

    def _secret(self, purpose: TokenPurpose, nonce: str) -> str:
        # Not bound to the user: a reset is recorded by address, before the user's id is
        # known. The hash is stored on that one account, which the token's prefix names.
        message = f"{purpose}:{nonce}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

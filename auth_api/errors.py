"""The service's one error hierarchy. Services raise these; `problem.py` renders them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldProblem:
    """One invalid input field, shown by clients next to that field."""

    field: str
    message: str


class AuthServiceError(Exception):
    """Base of every error a client may see. `code` is stable; clients branch on it."""

    status: int = 500
    code: str = "INTERNAL_ERROR"
    title: str = "Internal error"
    # The OAuth error code (RFC 6749 section 5.2) for the endpoints OAuth clients call:
    # added to the problem body as `error`, which those clients read.
    oauth_error: str | None = None

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.title
        super().__init__(self.detail)

    def headers(self) -> dict[str, str]:
        return {}


class InvalidCredentials(AuthServiceError):
    status, code, title = 401, "INVALID_CREDENTIALS", "Invalid credentials"

    def __init__(self) -> None:
        # One fixed message: unknown email and wrong password must be indistinguishable.
        super().__init__("The email or password is incorrect.")


class NotAuthenticated(AuthServiceError):
    status, code, title = 401, "NOT_AUTHENTICATED", "Not authenticated"

    def __init__(self) -> None:
        # Same message for missing, malformed, forged, expired and revoked tokens.
        super().__init__("A valid bearer token is required.")

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class InvalidRefreshToken(AuthServiceError):
    status, code, title = 401, "INVALID_REFRESH_TOKEN", "Invalid refresh token"

    def __init__(self) -> None:
        super().__init__("The refresh token is invalid, expired or revoked. Log in again.")


class RefreshTokenReused(InvalidRefreshToken):
    """A spent token came back: someone holds a copy. The session has been ended."""

    code = "REFRESH_TOKEN_REUSED"


class SessionNotFound(AuthServiceError):
    status, code, title = 404, "SESSION_NOT_FOUND", "Session not found"

    def __init__(self) -> None:
        super().__init__("No active session with this id belongs to you.")


class InvalidClient(AuthServiceError):
    status, code, title = 401, "INVALID_CLIENT", "Invalid client credentials"
    oauth_error = "invalid_client"

    def __init__(self) -> None:
        super().__init__("Valid service credentials (HTTP Basic) are required.")

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Basic realm="introspection"'}


class CsrfRejected(AuthServiceError):
    status, code, title = 403, "CSRF_REJECTED", "Cross-site request refused"


class AccountDisabled(AuthServiceError):
    """Only ever after the right password: a wrong one gets the ordinary 401, so the
    account's state is no one's to learn without it."""

    status, code, title = 403, "ACCOUNT_DISABLED", "Account disabled"

    def __init__(self) -> None:
        super().__init__("This account has been disabled. Contact an administrator.")


class Forbidden(AuthServiceError):
    """Authenticated, but without the role this needs."""

    status, code, title = 403, "FORBIDDEN", "Forbidden"

    def __init__(self, detail: str = "This needs the admin role.") -> None:
        super().__init__(detail)


class UserNotFound(AuthServiceError):
    status, code, title = 404, "USER_NOT_FOUND", "User not found"

    def __init__(self) -> None:
        super().__init__("No user has this id.")


class LastAdmin(AuthServiceError):
    status, code, title = 409, "LAST_ADMIN", "Last admin"

    def __init__(self) -> None:
        super().__init__("This would leave no active admin. Make another user an admin first.")


class InvalidToken(AuthServiceError):
    status, code, title = 400, "INVALID_TOKEN", "Invalid token"

    def __init__(self) -> None:
        # One message for malformed, unknown, expired and used tokens alike.
        super().__init__("This link is invalid, expired or already used. Ask for a new one.")


class EmailNotVerified(AuthServiceError):
    status, code, title = 403, "EMAIL_NOT_VERIFIED", "Email not verified"

    def __init__(self) -> None:
        super().__init__("Confirm your email address first: follow the link in the mail.")


class EmailAlreadyVerified(AuthServiceError):
    status, code, title = 409, "EMAIL_ALREADY_VERIFIED", "Email already verified"

    def __init__(self) -> None:
        super().__init__("This address is already verified.")


class EmailAlreadyRegistered(AuthServiceError):
    status, code, title = 409, "EMAIL_ALREADY_REGISTERED", "Email already registered"

    def __init__(self) -> None:
        super().__init__("An account with this email already exists.")


class InvalidInput(AuthServiceError):
    """422 with per-field problems, for schema and policy failures alike."""

    status, code, title = 422, "VALIDATION_FAILED", "Invalid input"

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems) or None)


class WeakPassword(InvalidInput):
    def __init__(self, messages: list[str]) -> None:
        super().__init__([FieldProblem("password", m) for m in messages])

    code = "WEAK_PASSWORD"


class UnknownRoles(InvalidInput):
    code = "UNKNOWN_ROLE"

    def __init__(self, unknown: list[str], field: str = "roles") -> None:
        names = ", ".join(sorted(unknown))
        super().__init__([FieldProblem(field, f"Not a declared role: {names}")])


class MalformedRequest(AuthServiceError):
    status, code, title = 400, "MALFORMED_REQUEST", "Malformed request"


class InvalidTokenRequest(MalformedRequest):
    """A malformed introspection or revocation request (form fields missing or doubled)."""

    oauth_error = "invalid_request"


class UnsupportedTokenType(AuthServiceError):
    """RFC 7009: a revocation naming a token type this service does not revoke."""

    status, code, title = 400, "UNSUPPORTED_TOKEN_TYPE", "Unsupported token type"
    oauth_error = "unsupported_token_type"

    def __init__(self) -> None:
        super().__init__("token_type_hint must be access_token or refresh_token.")


class PayloadTooLarge(AuthServiceError):
    status, code, title = 413, "PAYLOAD_TOO_LARGE", "Payload too large"


class HeadersTooLarge(AuthServiceError):
    """Answered by the HTTP server itself, before the app sees the request."""

    status, code, title = 431, "HEADERS_TOO_LARGE", "Request header fields too large"

    def __init__(self) -> None:
        super().__init__("The request line and headers are larger than this server accepts.")


class RateLimited(AuthServiceError):
    status, code, title = 429, "RATE_LIMITED", "Too many requests"

    def __init__(self, retry_after_seconds: int) -> None:
        self.retry_after_seconds = max(1, retry_after_seconds)
        super().__init__(f"Too many attempts. Try again in {self.retry_after_seconds} seconds.")

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}


class DependencyUnavailable(AuthServiceError):
    """A backing server failed. The body stays generic; the log names the server."""

    status, code, title = 503, "SERVICE_UNAVAILABLE", "Service unavailable"

    def __init__(self, dependency: str) -> None:
        self.dependency = dependency
        super().__init__("The service is temporarily unavailable. Please retry shortly.")

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "1"}


class WriteContention(DependencyUnavailable):
    """A guarded write of one user lost to other writes of the same user on every
    attempt (store.ports.GUARDED_WRITE_ATTEMPTS). Nothing was written; a retry succeeds."""

    def __init__(self, dependency: str) -> None:
        super().__init__(f"{dependency} (write contention)")

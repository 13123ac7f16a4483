"""Counters derived from the audit log. The services already write one `auth_api.audit`
record per security event (`extra={"audit": kind, ...}`); a logging handler turns them
into metrics, so no service carries metrics code. A kind not yet listed in KNOWN_KINDS
is still counted, as "other"."""

from __future__ import annotations

import logging

from prometheus_client import Counter

from quizauth_wire import RevocationReason

AUDIT_LOGGER = "auth_api.audit"
# Label values are bounded: an unknown kind is counted as "other", never by its text.
KNOWN_KINDS = frozenset(
    {
        "register",
        "login_success",
        "login_failure",
        "rate_limited",
        "logout",
        "refresh",
        "refresh_token_reuse",
        "session_revoked",
        "token_revoked",
    }
)
# The first part of every LimitRule key the services throttle on.
RATE_LIMITED_ACTIONS = frozenset({"login", "register", "introspect"})
OTHER = "other"

AUDIT_EVENTS = Counter(
    "auth_audit_events", "Audit records written, by kind (see the audit log)", ["kind"]
)
LOGINS = Counter("auth_logins", "Password login attempts, by outcome", ["outcome"])
REGISTRATIONS = Counter("auth_registrations", "Accounts registered")
RATE_LIMITED = Counter(
    "auth_rate_limited", "Requests refused by a rate limit, by the action limited", ["action"]
)
LOGOUTS = Counter("auth_logouts", "Logouts: each revokes the access token presented")
SESSION_REVOCATIONS = Counter(
    "auth_session_revocations",
    "Revocations of refresh sessions, by reason (one per audit record)",
    ["reason"],
)
# The reasons sessions end (the wire contract's list); anything else counts as "other".
SESSION_REVOCATION_REASONS = frozenset(str(reason) for reason in RevocationReason)


def kind_label(kind: str) -> str:
    return kind if kind in KNOWN_KINDS else OTHER


def rate_limited_action(rule: object) -> str:
    """`login:account:...` -> `login`; the rest of the key holds ids and addresses."""
    action = str(rule).split(":", 1)[0] if rule else ""
    return action if action in RATE_LIMITED_ACTIONS else OTHER


def revocation_reason(reason: object) -> str:
    return reason if isinstance(reason, str) and reason in SESSION_REVOCATION_REASONS else OTHER


def count(record: logging.LogRecord) -> None:
    kind = getattr(record, "audit", None)
    if not isinstance(kind, str):
        return
    AUDIT_EVENTS.labels(kind_label(kind)).inc()
    if kind == "login_success":
        LOGINS.labels("success").inc()
    elif kind == "login_failure":
        LOGINS.labels("failure").inc()
    elif kind == "register":
        REGISTRATIONS.inc()
    elif kind == "rate_limited":
        RATE_LIMITED.labels(rate_limited_action(getattr(record, "rule", None))).inc()
    elif kind == "logout":
        LOGOUTS.inc()
    elif kind == "session_revoked":
        SESSION_REVOCATIONS.labels(revocation_reason(getattr(record, "reason", None))).inc()


class AuditMetricsHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            count(record)
        except Exception:  # a metrics fault must never fail the request being audited
            self.handleError(record)


_handler = AuditMetricsHandler(level=logging.DEBUG)


def install_audit_metrics() -> None:
    """Idempotent: every app in the process shares the one handler and counters."""
    logger = logging.getLogger(AUDIT_LOGGER)
    # Audit records are INFO: the counters must see them whatever the root level is.
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)
    if _handler not in logger.handlers:
        logger.addHandler(_handler)
    # Exported as 0 before the first event rather than absent, so rate() works at once.
    for outcome in ("success", "failure"):
        LOGINS.labels(outcome)
    for action in RATE_LIMITED_ACTIONS:
        RATE_LIMITED.labels(action)

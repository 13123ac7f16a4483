"""Each mail has a plain-text part and an HTML part built from the same few sentences.
Every mail says which service sent it and why; links point at the web page's own routes
under AUTH_PUBLIC_URL, which then call the API. The token rides in the URL's fragment,
which browsers never send to a server: it stays out of access logs and Referer headers."""

from __future__ import annotations

import html
from dataclasses import dataclass
from urllib.parse import quote

from auth_api.model.mail import MailKind


@dataclass(frozen=True)
class Template:
    subject: str
    lines: tuple[str, ...]  # paragraphs, with {name}, {new_email} and {service} filled in
    reason: str  # why this mail was sent, for the footer
    action: str | None = None  # the link's label; None: a notice without a link
    route: str | None = None  # the page's route the link opens


TEMPLATES: dict[str, Template] = {
    MailKind.VERIFY_EMAIL: Template(
        "Confirm your email address for {service}",
        (
            "Hello {name},",
            "Please confirm that this address is yours by opening the link below within 24 hours.",
            "If you did not create an account, ignore this mail.",
        ),
        "someone created an account with this address",
        "Confirm my email address",
        "verify-email",
    ),
    MailKind.PASSWORD_RESET: Template(
        "Reset your {service} password",
        (
            "Hello {name},",
            "Open the link below within 30 minutes to choose a new password. It works once.",
            "If you did not ask for this, ignore this mail: your password stays as it is.",
        ),
        "someone asked to reset the password of the account with this address",
        "Choose a new password",
        "reset-password",
    ),
    MailKind.PASSWORD_RESET_NOTICE: Template(
        "Your {service} password was reset",
        (
            "Hello {name},",
            "The password of your account was just reset through a link sent to this "
            "address. Every session was signed out.",
            "If this was not you, reset your password again at once and secure this mailbox.",
        ),
        "the password of the account with this address was reset",
    ),
    MailKind.PASSWORD_CHANGED_NOTICE: Template(
        "Your {service} password was changed",
        (
            "Hello {name},",
            "The password of your account was just changed. Your other sessions were signed out.",
            "If this was not you, reset your password at once.",
        ),
        "the password of the account with this address was changed",
    ),
    MailKind.EMAIL_CHANGE_CONFIRM: Template(
        "Confirm your new email address for {service}",
        (
            "Hello {name},",
            "Open the link below within 24 hours to make this address the one your "
            "account signs in with.",
            "If you did not ask for this, ignore this mail: nothing changes.",
        ),
        "someone asked to move an account to this address",
        "Confirm my new address",
        "confirm-email",
    ),
    MailKind.EMAIL_CHANGE_NOTICE: Template(
        "Your {service} email address is being changed",
        (
            "Hello {name},",
            "Someone signed in to your account asked to change its email address to "
            "{new_email}. The change takes effect once that address is confirmed.",
            "If this was not you, change your password at once.",
        ),
        "a change of the address of the account that uses this address was requested",
    ),
}


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str
    link: str | None


def link_to(public_url: str, route: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/#/{route}?token={quote(token, safe='')}"


def render(
    kind: str,
    *,
    service: str,
    public_url: str,
    name: str,
    token: str | None = None,
    new_email: str = "",
) -> RenderedMail:
    """The mail of this kind; KeyError for a kind this version does not know."""
    template = TEMPLATES[kind]
    values = {"service": service, "name": name, "new_email": new_email}
    paragraphs = [line.format(**values) for line in template.lines]
    link = None
    if template.route is not None and token is not None:
        link = link_to(public_url, template.route, token)
    footer = f"This mail was sent by {service} ({public_url}) because {template.reason}."
    return RenderedMail(
        subject=template.subject.format(**values),
        text=_text(paragraphs, template.action, link, footer),
        html=_html(paragraphs, template.action, link, footer),
        link=link,
    )


def _text(paragraphs: list[str], action: str | None, link: str | None, footer: str) -> str:
    parts = [*paragraphs]
    if link is not None:
        parts.insert(2, f"{action}:\n{link}")
    return "\n\n".join([*parts, "-- ", footer]) + "\n"


def _html(paragraphs: list[str], action: str | None, link: str | None, footer: str) -> str:
    body = [f"<p>{html.escape(p)}</p>" for p in paragraphs]
    if link is not None:
        href = html.escape(link, quote=True)
        body.insert(2, f'<p><a href="{href}">{html.escape(action or link)}</a></p>')
        body.insert(3, f"<p>Or copy this address into your browser: {html.escape(link)}</p>")
    body.append(f'<hr><p style="color:#555;font-size:small">{html.escape(footer)}</p>')
    return (
        '<!doctype html><html><head><meta charset="utf-8"></head><body>'
        + "".join(body)
        + "</body></html>\n"
    )

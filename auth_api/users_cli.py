"""`python -m auth_api users ...`: the first admin, and roles, from the command line.

    users create-admin --email E [--password-stdin] [--display-name N]
    users set-roles --email E [ROLE ...]

Both work on the configured servers (AUTH_MONGO_URL, AUTH_REDIS_URL, ...), so in
compose through `docker compose exec auth-api python -m auth_api users ...`. No admin exists
until this makes one, and no password exists that this did not read: from the terminal
(asked twice), or from one line of standard input with --password-stdin. The events the
commands record are published by the API's relay, which sweeps the outbox every few
seconds. Audit lines go to standard error as JSON, like the API's, with admin `cli`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging.config
import sys
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from auth_api.accounts.emails import email_key
from auth_api.accounts.service import Registration
from auth_api.admin.service import CLI
from auth_api.container import Container, build_container
from auth_api.errors import AuthServiceError, InvalidInput
from auth_api.model.user import User
from auth_api.observability import logging_config
from auth_api.settings import Settings
from quizauth_wire import ADMIN_ROLE

# Registration throttles per client address; the command line counts as one of its own.
CLI_ADDRESS = "cli"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
PasswordReader = Callable[[], str]


class UsageError(Exception):
    """Input the command cannot use: printed, exit status 2."""


def add_user_commands(commands: Any) -> None:
    users = commands.add_parser("users", help="make admins and set roles")
    actions = users.add_subparsers(dest="action", required=True)
    create = actions.add_parser(
        "create-admin", help="make a new account an admin, or promote an existing one"
    )
    create.add_argument("--email", required=True)
    create.add_argument("--display-name", default=None, help="for a new account")
    create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read a new account's password from the first line of standard input",
    )
    roles = actions.add_parser("set-roles", help="set exactly these roles (user is implied)")
    roles.add_argument("--email", required=True)
    roles.add_argument("roles", nargs="*", metavar="ROLE")


def run_user_command(args: argparse.Namespace) -> int:
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"invalid configuration:\n{exc}", file=sys.stderr)
        return EXIT_USAGE
    if settings.embedded:
        print(
            "error: set AUTH_MONGO_URL and AUTH_REDIS_URL: this changes stored users",
            file=sys.stderr,
        )
        return EXIT_USAGE
    logging.config.dictConfig(logging_config(settings))
    return asyncio.run(run_with_settings(args, settings, password_reader(args)))


async def run_with_settings(
    args: argparse.Namespace, settings: Settings, read_password: PasswordReader
) -> int:
    """The command against the servers in `settings`; its exit status."""
    try:
        container = await build_container(settings)
    except AuthServiceError as exc:  # a server out of reach, say
        print(f"error: {exc.detail}", file=sys.stderr)
        return EXIT_FAILED
    try:
        await container.backends.users.setup()
        if args.action == "create-admin":
            user = await create_admin(container, args.email, args.display_name, read_password)
        else:
            user = await set_roles(container, args.email, args.roles)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except InvalidInput as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return EXIT_USAGE
    except AuthServiceError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        await container.close()
    print(f"{user.email} ({user.id}): roles {' '.join(sorted(user.roles))}")
    return EXIT_OK


async def create_admin(
    container: Container, email: str, display_name: str | None, read_password: PasswordReader
) -> User:
    services = container.services
    user = await services.admin.find_by_email(normalized(email))
    if user is None:
        form = Registration(email, read_password(), display_name)
        user = await services.accounts.register(form, CLI_ADDRESS)
        print(f"created {user.email}", file=sys.stderr)
    else:
        print(f"{user.email} exists: promoted; its password is unchanged", file=sys.stderr)
    return await services.admin.set_roles(CLI, user.id, user.roles | {ADMIN_ROLE})


async def set_roles(container: Container, email: str, roles: list[str]) -> User:
    admin = container.services.admin
    user = await admin.find_by_email(normalized(email))
    if user is None:
        raise UsageError(f"no user has the email {email}")
    return await admin.set_roles(CLI, user.id, roles)


def normalized(email: str) -> str:
    try:
        return email_key(email)
    except ValueError as exc:
        raise UsageError(f"not an email address: {exc}") from exc


def password_reader(args: argparse.Namespace) -> PasswordReader:
    if getattr(args, "password_stdin", False):
        return lambda: read_stdin_password(sys.stdin.readline())
    return read_tty_password


def read_stdin_password(line: str) -> str:
    """The line without its line ending; spaces are part of a passphrase."""
    password = line.removesuffix("\n").removesuffix("\r")
    if not password:
        raise UsageError("no password on standard input")
    return password


def read_tty_password() -> str:
    if not sys.stdin.isatty():
        raise UsageError("no terminal to ask for the password: use --password-stdin")
    password = getpass.getpass("Password for the new admin: ")
    if getpass.getpass("Repeat it: ") != password:
        raise UsageError("the passwords differ")
    return password

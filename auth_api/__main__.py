"""Command line: `python -m auth_api serve [--host H] [--port P] [--workers N]`,
`python -m auth_api keys generate|activate|retire|list --dir DIR` for signing keys, and
`python -m auth_api users create-admin|set-roles --email E ...` for admins and roles."""

from __future__ import annotations

import argparse
import os
import sys

import uvicorn
from pydantic import ValidationError

from auth_api.observability import logging_config
from auth_api.settings import Settings
from auth_api.tokens.key_cli import add_key_commands, run_key_command
from auth_api.users_cli import add_user_commands, run_user_command


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m auth_api")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP API")
    # Defaults from the environment: the container image sets them once, and its
    # HEALTHCHECK reads the same AUTH_PORT (a host-networked container moves it).
    serve.add_argument(
        "--host",
        default=os.environ.get("AUTH_HOST", "127.0.0.1"),
        help="address to listen on (default: AUTH_HOST, else 127.0.0.1)",
    )
    serve.add_argument(
        "--port",
        type=int,
        default=os.environ.get("AUTH_PORT", "8000"),
        help="port to listen on (default: AUTH_PORT, else 8000)",
    )
    serve.add_argument("--workers", type=int, default=1)
    add_key_commands(commands)
    add_user_commands(commands)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "keys":
        return run_key_command(args)
    if args.command == "users":
        return run_user_command(args)
    try:
        settings = Settings()  # fail here, with a readable message, before workers start
    except ValidationError as exc:
        print(f"invalid configuration:\n{exc}", file=sys.stderr)
        return 2
    uvicorn.run(
        "auth_api.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=False,  # X-Forwarded-For is handled by AUTH_TRUSTED_PROXIES
        server_header=False,
        log_config=logging_config(settings),  # JSON lines from here on, in every worker too
        access_log=False,  # replaced by auth_api.access, with route and request id
        # httptools, with a bound on the request head that uvicorn gives only to h11.
        http="auth_api.http.server_protocol:BoundedHttpToolsProtocol",
        h11_max_incomplete_event_size=settings.max_header_bytes,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

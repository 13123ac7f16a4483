"""`python -m auth_api keys ...`: generate, activate, retire and list signing keys."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from auth_api.tokens.key_directory import KeyDirectory
from auth_api.tokens.keys import ASYMMETRIC_ALGORITHMS


def add_key_commands(commands: Any) -> None:
    keys = commands.add_parser("keys", help="manage asymmetric signing keys")
    actions = keys.add_subparsers(dest="action", required=True)
    generate = actions.add_parser("generate", help="add a key (published, signs if activated)")
    generate.add_argument("--alg", choices=ASYMMETRIC_ALGORITHMS, default="ES256")
    generate.add_argument("--activate", action="store_true", help="sign with it at once")
    for name in ("activate", "retire"):
        action = actions.add_parser(name, help=f"{name} a key by its kid")
        action.add_argument("kid")
    actions.add_parser("list", help="list keys")
    for action in actions.choices.values():
        action.add_argument("--dir", type=Path, required=True, help="the AUTH_JWT_KEYS_DIR")


def run_key_command(args: argparse.Namespace) -> int:
    directory = KeyDirectory(args.dir)
    try:
        if args.action == "generate":
            print(directory.generate(args.alg, args.activate))
        elif args.action == "activate":
            directory.activate(args.kid)
        elif args.action == "retire":
            directory.retire(args.kid)
        else:
            print("\n".join(directory.describe()) or "no keys")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0

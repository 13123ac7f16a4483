"""Runs `python -m auth_api users ...` as operators do: a real process on the configured
servers, the password on standard input or typed at a terminal."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass

from auth_api.settings import Settings
from tests.events.processes import service_environment
from tests.support.servers import REPO

TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Outcome:
    status: int
    out: str
    err: str


def cli_environment(settings: Settings, **extra: str) -> dict[str, str]:
    env = service_environment(settings, settings.kafka_bootstrap or "")
    if settings.roles:
        env["AUTH_ROLES"] = ";".join(f"{r}:{','.join(s)}" for r, s in settings.roles.items())
    return {**env, **extra}


async def users_command(env: dict[str, str], *args: str, stdin: str | None = None) -> Outcome:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "auth_api",
        "users",
        *args,
        cwd=REPO,
        env=env,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    data = stdin.encode() if stdin is not None else None
    out, err = await asyncio.wait_for(child.communicate(data), TIMEOUT_SECONDS)
    assert child.returncode is not None
    return Outcome(child.returncode, out.decode(), err.decode())


async def at_a_terminal(env: dict[str, str], args: list[str], answers: list[str]) -> Outcome:
    """The command at a terminal of its own (tests/admin/terminal.py); each answer is
    typed after the next prompt (a line ending in `: `) appears."""
    command = ["-m", "auth_api", "users", *args]
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.admin.terminal",
        *command,
        cwd=REPO,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    typed = "".join(f"{answer}\n" for answer in answers).encode()
    out, err = await asyncio.wait_for(child.communicate(typed), TIMEOUT_SECONDS)
    assert child.returncode is not None
    return Outcome(child.returncode, out.decode(errors="replace"), err.decode())

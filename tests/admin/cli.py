"""Runs `python -m auth_api users ...` as operators do: a real process on the configured
servers, the password on standard input or typed at a terminal."""

from __future__ import annotations

import asyncio
import os
import pty
import select
import sys
import time
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


def at_a_terminal(env: dict[str, str], args: list[str], answers: list[str]) -> Outcome:
    """The command with a pseudo-terminal as its controlling terminal; each answer is
    typed after the next prompt (a line ending in `: `) appears. Blocking: call it in a
    thread."""
    pid, master = pty.fork()
    if pid == 0:  # the child: becomes the command
        os.chdir(REPO)
        os.execve(sys.executable, [sys.executable, "-m", "auth_api", "users", *args], env)  # noqa: S606
    seen = b""
    answered_up_to = 0  # where the output after the last answer starts
    pending = list(answers)
    deadline = time.monotonic() + TIMEOUT_SECONDS
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the child closed the terminal: it has finished
                    break
                if not chunk:
                    break
                seen += chunk
            if pending and seen[answered_up_to:].rstrip().endswith(b":"):
                os.write(master, pending.pop(0).encode() + b"\n")
                answered_up_to = len(seen)
    finally:
        os.close(master)
        _, status = os.waitpid(pid, 0)
    return Outcome(os.waitstatus_to_exitcode(status), seen.decode(errors="replace"), "")

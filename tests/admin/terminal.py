"""Runs a command with a pseudo-terminal as its controlling terminal and types answers
at its prompts: `python -m tests.admin.terminal ARG...`, the answers one per line on
standard input. Prints what the terminal showed and exits with the command's status.

A process of its own, single-threaded, so that forking is safe (a test process has
threads)."""

from __future__ import annotations

import os
import pty
import select
import sys
import time

TIMEOUT_SECONDS = 60


def drive(argv: list[str], answers: list[str]) -> tuple[int, bytes]:
    pid, master = pty.fork()
    if pid == 0:  # the child: becomes the command, the terminal its controlling one
        os.execv(argv[0], argv)  # noqa: S606 - the interpreter and fixed arguments
    seen = b""
    answered_up_to = 0  # where the output after the last answer starts
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
            if answers and seen[answered_up_to:].rstrip().endswith(b":"):
                os.write(master, answers.pop(0).encode() + b"\n")
                answered_up_to = len(seen)
    finally:
        os.close(master)
        _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), seen


if __name__ == "__main__":
    answers = sys.stdin.read().splitlines()
    status, seen = drive([sys.executable, *sys.argv[1:]], answers)
    sys.stdout.buffer.write(seen)
    raise SystemExit(status)

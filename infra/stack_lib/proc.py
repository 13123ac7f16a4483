"""Process bookkeeping: pid files, ownership checks, start/stop, ports, logs."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


class StackError(Exception):
    """A failure the user can act on; printed without a traceback."""


def log(message: str) -> None:
    print(f"[stack] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class PidRecord:
    pid: int
    port: int


def read_pidfile(path: Path) -> PidRecord | None:
    try:
        data = json.loads(path.read_text())
        return PidRecord(pid=int(data["pid"]), port=int(data["port"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_pidfile(path: Path, record: PidRecord) -> None:
    path.write_text(json.dumps({"pid": record.pid, "port": record.port}) + "\n")


def _reap(pid: int) -> None:
    # A child of this very invocation turns into a zombie when it exits;
    # collect it so that it stops looking alive. Others are not ours to reap.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def is_ours(pid: int, marker: str, workdir: Path) -> bool:
    """Is `pid` alive and the server we started in `workdir`?

    Pids get reused, so a bare liveness check could make us signal a stranger.
    Each server runs with its state directory as working directory and has a
    recognisable command line; both must match.
    """
    _reap(pid)
    proc = Path(f"/proc/{pid}")
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = (proc / "cmdline").read_bytes().replace(b"\x00", b" ").decode(errors="replace")
        cwd = os.readlink(proc / "cwd")
    except (OSError, IndexError):
        return False
    if state in ("Z", "X"):  # exited, waiting for a parent that may never reap it
        return False
    return marker in cmdline and os.path.realpath(cwd) == os.path.realpath(workdir)


def port_is_free(port: int) -> bool:
    # Binding (not connecting) also catches listeners on 0.0.0.0 or ones that
    # do not accept yet. SO_REUSEADDR ignores our own sockets in TIME_WAIT.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# The servers this process started. Kept, rather than dropped while they run (which
# warns), so that child_alive() can ask them; poll() also reaps an exited one.
_started: dict[int, subprocess.Popen[bytes]] = {}


def start(argv: Sequence[str], workdir: Path, logfile: Path) -> int:
    """Start a server detached from this command; return its pid."""
    if logfile.exists():  # keep the previous run's log for post-mortems
        logfile.replace(logfile.with_name(logfile.name + ".1"))
    with open(logfile, "ab") as out:
        proc = subprocess.Popen(  # noqa: S603 - argv comes from the server specs
            list(argv),
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own session: survives this command, no shared signals
        )
    _started[proc.pid] = proc
    return proc.pid


def child_alive(pid: int) -> bool:
    """Is this server, started by start() in this very process, still running? Certain
    where /proc is not: until the new program's exec is done, /proc/<pid>/cmdline reads
    empty, and is_ours() would take the server for a stranger."""
    process = _started.get(pid)
    return process is not None and process.poll() is None


def stop(pid: int, marker: str, workdir: Path, grace: float = 15.0) -> None:
    """SIGTERM, wait up to `grace` seconds, then SIGKILL this one pid, while it is ours."""
    stop_together([(pid, lambda: is_ours(pid, marker, workdir))], grace)


def stop_child(pid: int, grace: float = 15.0) -> None:
    """The same for a server this very command started (see child_alive)."""
    stop_together([(pid, lambda: child_alive(pid))], grace)


def stop_together(processes: Sequence[tuple[int, Callable[[], bool]]], grace: float) -> None:
    """Stop several pids at once, each signalled only while its `alive` check holds:
    SIGTERM to all, up to `grace` seconds for all to exit, then SIGKILL to the rest.
    At once, because the nodes of a cluster each finish an orderly shutdown only while
    a majority of their quorum is still up: stopped one after the other, the last one
    waits for peers that are gone."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        left = [(pid, alive) for pid, alive in processes if alive()]
        for pid, _ in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        if wait_until(lambda: not any(alive() for _, alive in left), wait):  # noqa: B023
            return
    stuck = [pid for pid, alive in processes if alive()]
    raise StackError(f"pid {', '.join(map(str, stuck))} did not exit after SIGKILL")


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def run_tool(
    argv: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> None:
    """Run a provisioning command; its output goes to stderr with our progress lines."""
    result = subprocess.run(  # noqa: S603 - argv comes from the server specs
        list(argv), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=sys.stderr, check=False
    )
    if result.returncode != 0:
        raise StackError(f"command failed with exit code {result.returncode}: {' '.join(argv)}")

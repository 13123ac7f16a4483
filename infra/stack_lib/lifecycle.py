"""Bring servers up and down: pid-file bookkeeping, port checks, readiness, status."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable

from .proc import (
    PidRecord,
    StackError,
    child_alive,
    is_ours,
    log,
    port_is_free,
    read_pidfile,
    start,
    stop,
    stop_child,
    stop_together,
    tail,
    wait_until,
    write_pidfile,
)
from .spec import Server, Settings


def running(srv: Server) -> PidRecord | None:
    """The pid file's record if it still describes our live server."""
    record = read_pidfile(srv.pidfile)
    if record and is_ours(record.pid, srv.marker, srv.workdir):
        return record
    return None


def _check_ports(servers: list[Server]) -> None:
    for srv in servers:
        for var, port in srv.ports:
            if not port_is_free(port):
                raise StackError(
                    f"{srv.name}: port {port} on 127.0.0.1 is in use by a process this stack"
                    f" did not start; stop it or set {var} to a free port"
                )


def _launch(srv: Server) -> int:
    srv.workdir.mkdir(parents=True, exist_ok=True)
    srv.pidfile.unlink(missing_ok=True)  # stale: its process is gone
    pid = start(srv.command(), srv.workdir, srv.logfile)
    write_pidfile(srv.pidfile, PidRecord(pid=pid, port=srv.port))
    log(f"{srv.name}: started pid {pid} on port {srv.port}")
    return pid


def _log_excerpt(srv: Server) -> str:
    return f"last lines of {srv.logfile}:\n{tail(srv.logfile)}"


def _await_ready(srv: Server, launched: int | None) -> None:
    """Wait for a real answer; on failure kill the server and show its log. `launched`
    is the pid if this command just started it: a child, whose liveness is certain."""
    record = running(srv) if launched is None else PidRecord(pid=launched, port=srv.port)
    if record is None:
        raise StackError(f"{srv.name}: exited at once; {_log_excerpt(srv)}")
    pid = record.pid

    def alive() -> bool:
        return child_alive(pid) if launched is not None else is_ours(pid, srv.marker, srv.workdir)

    wait_until(lambda: not alive() or srv.probe(record.port), srv.ready_timeout)
    if alive() and srv.probe(record.port):
        log(f"{srv.name}: healthy (pid {pid}, port {record.port})")
        return
    reason = "exited during startup" if not alive() else f"not ready after {srv.ready_timeout:.0f}s"
    if launched is not None:
        stop_child(pid)
    else:
        stop(pid, srv.marker, srv.workdir)
    srv.pidfile.unlink(missing_ok=True)
    raise StackError(f"{srv.name}: {reason}; {_log_excerpt(srv)}")


def bring_up(servers: list[Server]) -> None:
    pending: list[Server] = []
    for srv in servers:
        record = running(srv)
        if record is None:
            pending.append(srv)
        elif record.port != srv.port:
            raise StackError(
                f"{srv.name} is running on port {record.port}, not the configured {srv.port};"
                f" run 'infra/stack restart {srv.name}'"
            )
        else:
            log(f"{srv.name}: already running (pid {record.pid}, port {record.port})")
    # Report every missing tool before spending minutes on the others.
    problems = [f"{srv.name}: {problem}" for srv in pending for problem in srv.preflight()]
    if problems:
        raise StackError("cannot provision the stack:\n  " + "\n  ".join(problems))
    _check_ports(pending)
    for srv in pending:
        srv.provision()
    launched = {srv.name: _launch(srv) for srv in pending}
    for srv in servers:
        _await_ready(srv, launched.get(srv.name))


def take_down(servers: list[Server]) -> None:
    """Stop them all at once (see stop_together), and forget their pid files."""
    stopping: list[tuple[Server, int]] = []
    for srv in servers:
        record = read_pidfile(srv.pidfile)
        if record and is_ours(record.pid, srv.marker, srv.workdir):
            log(f"{srv.name}: stopping pid {record.pid}...")
            stopping.append((srv, record.pid))
        elif record:
            log(f"{srv.name}: not running (removed stale pid file)")
            srv.pidfile.unlink(missing_ok=True)
    stop_together([(pid, _ownership_check(srv, pid)) for srv, pid in stopping], grace=15.0)
    for srv, _ in stopping:
        log(f"{srv.name}: stopped")
        srv.pidfile.unlink(missing_ok=True)


def _ownership_check(srv: Server, pid: int) -> Callable[[], bool]:
    return lambda: is_ours(pid, srv.marker, srv.workdir)


def status(servers: list[Server]) -> int:
    healthy = 0
    for srv in servers:
        record = running(srv)
        if record is None:
            state = "stopped"
        elif srv.probe(record.port):
            state = f"healthy   pid {record.pid:<8} port {record.port}"
            healthy += 1
        else:
            state = f"running but not answering   pid {record.pid:<8} port {record.port}"
        print(f"{srv.name:<7} {state}   ({srv.label})")
    return 0 if healthy == len(servers) else 1


def reset(settings: Settings, servers: list[Server]) -> None:
    take_down(servers)
    for srv in servers:
        shutil.rmtree(srv.workdir, ignore_errors=True)
    with contextlib.suppress(OSError):
        settings.state.rmdir()  # only if nothing else was put there
    log(f"removed server data under {settings.state}")

"""infra/stack for Python tools and tests: the shared stack, private servers (and private
clusters of the clustered topology) on free ports in a state directory of their own,
and processes stopped by their pid.

Servers start and stop through the infra/stack command, so they belong to no tool or
test process (an interrupted run leaves no half-owned child) and the command's pid
files stay the only bookkeeping. What can be read without starting anything (ports,
URLs, pids) is read here directly, from the same settings the command uses.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

from .lifecycle import running
from .proc import wait_until
from .servers import all_servers, server_names
from .spec import (
    CLIENT_VARIABLES,
    MAIL_API_VARIABLE,
    Server,
    Settings,
    component_of,
    load_settings,
)

REPO = Path(__file__).resolve().parents[2]
STACK = REPO / "infra" / "stack"
# Long enough for a first run, which fetches Kafka's and the mongo server's jars.
COMMAND_TIMEOUT = 900.0
START_ATTEMPTS = 3


class StackCommandError(RuntimeError):
    """infra/stack failed; the message carries the end of what it printed."""


def free_port(taken: set[int] | None = None) -> int:
    """A port on 127.0.0.1 that is free now and not in `taken`, which it then joins."""
    taken = set() if taken is None else taken
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port not in taken:
            taken.add(port)
            return port


def parse_env_line(line: str) -> dict[str, str]:
    """`export A=1 B=2`, as infra/stack env prints it, as a mapping."""
    assignments = line.strip().removeprefix("export ").split()
    return dict(item.split("=", 1) for item in assignments)


class Stack:
    """One set of servers: the state directory and ports that the AUTH_STACK_* variables
    in `overrides`, else in this process's environment, name. Without overrides it is
    the shared stack of this checkout, the one `infra/stack up` runs."""

    def __init__(self, overrides: Mapping[str, str] | None = None) -> None:
        self.environ = {**os.environ, **(overrides or {})}

    @property
    def settings(self) -> Settings:
        return load_settings(REPO, self.environ)

    def server(self, name: str) -> Server:
        (found,) = (srv for srv in all_servers(self.settings) if srv.name == name)
        return found

    def run(self, *args: str) -> str:
        """Run infra/stack with this stack's variables; its standard output."""
        result = subprocess.run(  # noqa: S603 - this repository's own launcher
            [str(STACK), *args], env=self.environ, capture_output=True, text=True,
            timeout=COMMAND_TIMEOUT, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise StackCommandError(f"infra/stack {' '.join(args)}:\n{result.stderr[-4000:]}")
        return result.stdout

    def stopped(self) -> list[str]:
        """The servers that are not running now."""
        return [srv.name for srv in all_servers(self.settings) if running(srv) is None]

    def up(self) -> list[str]:
        """Start what is not running and wait until all are healthy; the names this
        call started, which are the ones its caller may stop again."""
        was_stopped = self.stopped()
        self.run("up")
        return was_stopped

    @property
    def names(self) -> tuple[str, ...]:
        """Every server of this stack's topology, in start order."""
        return server_names(self.settings)

    def start(self, *names: str) -> None:
        self.run("start", *(names or self.names))

    def stop(self, *names: str) -> None:
        self.run("stop", *(names or self.names))

    def client_env(self, names: Sequence[str] | None = None) -> dict[str, str]:
        """The service's settings (AUTH_MONGO_URL, AUTH_REDIS_URL, AUTH_KAFKA_BOOTSTRAP
        and what a topology adds) for the components of the servers in `names` (all
        when None): "kafka-2" gives the whole cluster's bootstrap list."""
        components = {component_of(name) for name in (self.names if names is None else names)}
        by_component = self.settings.component_env()
        return {var: val for c in components for var, val in by_component[c].items()}

    def pid(self, name: str) -> int | None:
        record = running(self.server(name))
        return record.pid if record else None

    def kill(self, name: str) -> int:
        """SIGKILL one server, as a crash would end it: no shutdown of any kind. Its pid
        file stays behind, as after a crash; start() knows it for a dead one. Returns
        the pid that was killed."""
        pid = self.pid(name)
        if pid is None:
            raise StackCommandError(f"{name} is not running")
        os.kill(pid, signal.SIGKILL)
        if not wait_until(lambda: self.pid(name) is None, timeout=10):
            raise StackCommandError(f"{name} (pid {pid}) still runs after SIGKILL")
        return pid


class PrivateServer:
    """A server of the caller's own on free ports, in `state_dir`, for runs that stop
    and restart it without disturbing the shared stack. Ports in `taken` are avoided;
    the ones picked join it, so servers sharing the set never pick the same port.
    `settings` are further AUTH_STACK_* variables, e.g. AUTH_STACK_MONGO_BACKEND.
    Read `port` and `url` after start(): a failed first start retries on other ports."""

    def __init__(
        self,
        name: str,
        state_dir: Path,
        taken: set[int] | None = None,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self._state_dir = state_dir
        self._taken = set() if taken is None else taken
        # One server of its own, whatever topology this process's environment names.
        self._settings = {"AUTH_STACK_TOPOLOGY": "single", **(settings or {})}
        self._started_once = False
        self.stack = self._with_free_ports()

    def _with_free_ports(self) -> Stack:
        variables = [var for var, _ in Stack(self._settings).server(self.name).ports]
        ports = {var: str(free_port(self._taken)) for var in variables}
        return Stack({**self._settings, "AUTH_STACK_DIR": str(self._state_dir), **ports})

    @property
    def port(self) -> int:
        return self.stack.server(self.name).port

    @property
    def url(self) -> str:
        """What the service's setting for this server should say."""
        return self.stack.client_env([self.name])[CLIENT_VARIABLES[self.name]]

    @property
    def mail_api(self) -> str:
        """The mail catcher's HTTP API, for a private "mail" server."""
        return self.stack.settings.mail_api_url

    @property
    def pid(self) -> int | None:
        return self.stack.pid(self.name)

    def start(self) -> None:
        """Start and wait until healthy. A failed start is retried: a port picked free
        can be taken by another process before the server binds it. Until the first
        start succeeds the ports may change; after it a restart keeps them, since
        clients already use them."""
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                self.stack.start(self.name)
                self._started_once = True
                return
            except StackCommandError:
                self.stack.stop(self.name)  # whatever half-started
                if attempt == START_ATTEMPTS:
                    raise
                if not self._started_once:
                    self.stack = self._with_free_ports()

    def stop(self) -> None:
        self.stack.stop(self.name)


class PrivateCluster:
    """A clustered component of the caller's own (the clustered topology's, e.g. the
    three Kafka nodes), on free ports in `state_dir`, so that a test may kill and
    restart its nodes without disturbing anyone. The nodes start together: a quorum
    elects a leader only once a majority of it is up, so none is healthy before."""

    def __init__(
        self, component: str, state_dir: Path, settings: Mapping[str, str] | None = None
    ) -> None:
        self.component = component
        self._state_dir = state_dir
        self._settings = {**(settings or {}), "AUTH_STACK_TOPOLOGY": "cluster"}
        self._started_once = False
        self.stack = self._with_free_ports()

    def _with_free_ports(self) -> Stack:
        template = Stack(self._settings)
        taken: set[int] = set()
        ports = {
            var: str(free_port(taken))
            for name in self._names_in(template)
            for var, _ in template.server(name).ports
        }
        return Stack({**self._settings, "AUTH_STACK_DIR": str(self._state_dir), **ports})

    def _names_in(self, stack: Stack) -> list[str]:
        return [name for name in stack.names if component_of(name) == self.component]

    @property
    def names(self) -> list[str]:
        """The nodes, e.g. kafka-1, kafka-2, kafka-3."""
        return self._names_in(self.stack)

    def client_env(self) -> dict[str, str]:
        """The service's settings for this cluster (for Kafka: the bootstrap list of
        every node, and the replication the cluster is for)."""
        return self.stack.client_env(self.names)

    def port(self, name: str) -> int:
        return self.stack.server(name).port

    def pid(self, name: str) -> int | None:
        return self.stack.pid(name)

    def start(self, *names: str) -> None:
        """Start `names` (all when none) and wait until each is healthy; the first
        start retries on other ports, as PrivateServer.start does."""
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                self.stack.start(*(names or self.names))
                self._started_once = True
                return
            except StackCommandError:
                self.stack.stop(*(names or self.names))
                if attempt == START_ATTEMPTS:
                    raise
                if not self._started_once:
                    self.stack = self._with_free_ports()

    def stop(self, *names: str) -> None:
        self.stack.stop(*(names or self.names))

    def kill(self, name: str) -> int:
        """SIGKILL one node (see Stack.kill); the pid killed."""
        return self.stack.kill(name)


class PrivateServers:
    """Several private servers sharing one state directory."""

    def __init__(self, names: Sequence[str], state_dir: Path) -> None:
        taken: set[int] = set()
        self.servers = {name: PrivateServer(name, state_dir, taken) for name in names}

    def __getitem__(self, name: str) -> PrivateServer:
        return self.servers[name]

    def start(self, *names: str) -> None:
        for name in names or self.servers:
            self.servers[name].start()

    def stop(self, *names: str) -> None:
        for name in reversed(names or list(self.servers)):
            self.servers[name].stop()

    def client_env(self) -> dict[str, str]:
        env = {CLIENT_VARIABLES[name]: srv.url for name, srv in self.servers.items()}
        if "mail" in self.servers:
            env[MAIL_API_VARIABLE] = self.servers["mail"].mail_api
        return env


def wait_until_answering(url: str, process: subprocess.Popen[bytes], timeout: float) -> bool:
    """Poll `url` until it answers 200 (True), or `process` exits or `timeout` passes."""
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 only

    def answers() -> bool:
        try:
            with direct.open(url, timeout=2) as response:
                return bool(response.status == 200)
        except OSError:  # refused, reset, timed out, or an HTTP error status
            return False

    settled = wait_until(lambda: process.poll() is not None or answers(), timeout, interval=0.2)
    return settled and process.poll() is None


def stop_process(process: subprocess.Popen[bytes], grace: float = 30.0) -> None:
    """Stop a process this run started, by its pid: SIGINT (a graceful shutdown, for
    uvicorn its workers' too), then after `grace` seconds SIGKILL to its process group
    when it leads one (started with start_new_session), else to it alone."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=grace)
        return
    except subprocess.TimeoutExpired:
        pass
    if os.getpgid(process.pid) == process.pid:
        os.killpg(process.pid, signal.SIGKILL)
    else:
        process.kill()
    process.wait(timeout=10)

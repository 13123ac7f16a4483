"""How the API's costs grow with the number of users. One private MongoDB-wire server
holds a database per size (1,000, 10,000 and 100,000 seeded users by default), each
served by an API process of its own. The flows are measured in rounds: in each, every
flow at every size back to back, the order of the sizes reversed every other round, so
that the drifting load of a shared machine falls on every size alike. Then, with each
API alone and idle in turn, the mongo server's CPU is sampled from /proc: the relay's
sweeps must not read every user."""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from pymongo import MongoClient
from pymongo.collection import Collection

from bench.report import ScenarioResult
from bench.runners import Meter, from_group, run_client
from bench.scaling_report import (
    cpu_percent,
    merge_rounds,
    paired_ratios,
    scaling_table,
    scaling_targets,
    size_row,
    targets_table,
)
from bench.seed import hash_once, seed_email, seed_users, template_document
from bench.servers import STATE, ApiProcess, process_tree_cpu_seconds
from infra.stack_lib.api import PrivateServer, free_port

if TYPE_CHECKING:  # bench.scenarios runs this scenario, so imports it
    from bench.scenarios import Context

# The mongo server's heap: 111,000 users and their indexes fit with room to spare, so
# that garbage collection does not pass for a cost of the collection's size.
MONGO_HEAP = "2g"
QUIET_PERCENT, QUIET_TIMEOUT_S = 10.0, 60.0
LOGIN_SAMPLE = 500  # users the logins cycle through, drawn from the whole range
# The load client's scenarios. Login and register run with the bench's hash clients, as
# in the login scenario; refresh and /auth/me one request at a time: latency, not queues.
FLOWS = ("login", "refresh", "me", "register")


def say(message: str) -> None:
    print(f"[bench] scaling: {message}", file=sys.stderr, flush=True)


@dataclass
class Deployment:
    """A database of `size` users and the API over it."""

    size: int
    api: ApiProcess
    users_file: Path
    token: str = ""
    seed_seconds: float = 0.0
    rounds: dict[str, list[ScenarioResult]] = field(default_factory=dict)


class ScalingRun:
    def __init__(self, ctx: Context, base_env: Mapping[str, str]) -> None:
        self.ctx = ctx
        self.base_env = dict(base_env)  # the API's environment, but for the mongo server
        self.cfg = ctx.cfg
        self.mongo = PrivateServer("mongo", STATE / "scaling", settings={
            "AUTH_STACK_MONGO_HEAP": MONGO_HEAP,
        })  # fmt: skip
        self.deployments: dict[int, Deployment] = {}
        self.idle: dict[str, Any] = {}

    def api_environment(self, size: int) -> dict[str, str]:
        return self.base_env | {
            "AUTH_MONGO_URL": self.mongo.url,
            "AUTH_MONGO_DB": f"scaling_{size}",
            "AUTH_REDIS_PREFIX": f"bench:{self.ctx.tag}:scaling{size}:",
        }

    def mongo_pid(self) -> int:
        pid = self.mongo.pid
        if pid is None:
            raise RuntimeError("the scaling scenario's mongo server is not running")
        return pid

    def new_api(self, size: int) -> ApiProcess:
        env, pin = self.api_environment(size), self.ctx.cores.server
        return ApiProcess(env, free_port(), self.cfg.workers, pin, f"scaling-{size}")

    # --- setup -------------------------------------------------------------------------

    def deploy(self, size: int, password_hash: str) -> Deployment:
        """Start the API first, so its own setup creates the indexes, then seed."""
        api = self.new_api(size)
        api.start()
        users_file = STATE / f"scaling-users-{self.ctx.tag}-{size}.json"
        deployment = Deployment(size, api, users_file)
        self.deployments[size] = deployment
        started = time.monotonic()
        client: MongoClient[dict[str, Any]]
        with MongoClient(self.mongo.url, serverSelectionTimeoutMS=5000) as client:
            users: Collection[dict[str, Any]] = client[f"scaling_{size}"]["users"]
            seed_users(users, template_document(password_hash), 0, size)
        deployment.seed_seconds = time.monotonic() - started
        # User 0 holds the /auth/me token and never logs in again; the rest are drawn.
        sample = random.sample(range(1, size), k=min(LOGIN_SAMPLE, size - 1))
        users_file.write_text(json.dumps([seed_email(n) for n in sample]))
        deployment.token = self.login(api, seed_email(0))
        return deployment

    def login(self, api: ApiProcess, email: str) -> str:
        body = {"email": email, "password": self.ctx.password}
        with httpx.Client(base_url=api.base_url, timeout=30) as client:
            reply = client.post("/auth/login", json=body)
        reply.raise_for_status()
        token: str = reply.json()["access_token"]
        return token

    # --- measured rounds ---------------------------------------------------------------

    def clients(self, flow: str) -> int:
        return self.cfg.hash_clients if flow in ("login", "register") else 1

    def plan(self, deployment: Deployment, flow: str, clients: int, tag: str) -> dict[str, Any]:
        return {
            "scenario": flow,
            "host": "127.0.0.1",
            "port": deployment.api.port,
            "concurrency": clients,
            "warmup_s": self.cfg.scaling_warmup_s,
            "duration_s": self.cfg.scaling_seconds,
            "token": deployment.token,
            "password": self.ctx.password,
            "users_file": str(deployment.users_file),
            "tag": tag,  # register's addresses: unique per round and size
            "probe_interval_ms": self.cfg.probe_interval_ms,
        }

    def measure(self, deployment: Deployment, flow: str, round_number: int) -> None:
        count = self.clients(flow)
        tag = f"{self.ctx.tag}.s{deployment.size}.r{round_number}"
        meter = Meter(deployment.api, db_pid=self.mongo_pid())
        raw = run_client(self.plan(deployment, flow, count, tag), self.ctx.cores.load, meter)
        result = from_group(flow, raw["groups"][flow], count, meter)
        deployment.rounds.setdefault(flow, []).append(result)

    def wait_until_quiet(self) -> float:
        """Until the mongo server spends under QUIET_PERCENT of a core for a second, at
        most QUIET_TIMEOUT_S; the seconds waited. After seeding, the fresh JVM collects
        the garbage of the inserts and grows its heap: that must not count as the cost
        of the first requests measured."""
        started = time.monotonic()
        while time.monotonic() - started < QUIET_TIMEOUT_S:
            if self.sample_idle(1.0) < QUIET_PERCENT:
                break
        return time.monotonic() - started

    def warm_up(self) -> None:
        """One short unrecorded pass of every flow at every size: the mongo server is a
        fresh JVM, whose JIT would otherwise bill its compiling to the first round."""
        for deployment in self.deployments.values():
            for flow in FLOWS:
                tag = f"{self.ctx.tag}.s{deployment.size}.warmup"
                plan = self.plan(deployment, flow, self.clients(flow), tag) | {"duration_s": 1.0}
                meter = Meter(deployment.api, db_pid=self.mongo_pid())
                run_client(plan, self.ctx.cores.load, meter)

    def run_rounds(self) -> None:
        sizes, rounds = sorted(self.deployments), self.cfg.scaling_rounds
        for number in range(rounds):
            order = sizes if number % 2 == 0 else sizes[::-1]
            say(f"round {number + 1} of {rounds}, sizes in the order {order}")
            for flow in FLOWS:
                for size in order:
                    self.measure(self.deployments[size], flow, number)

    # --- idle --------------------------------------------------------------------------

    def sample_idle(self, seconds: float) -> float:
        """The mongo server's CPU over `seconds`, in percent of one core."""
        pid = self.mongo_pid()
        cpu0, wall0 = process_tree_cpu_seconds(pid), time.monotonic()
        time.sleep(seconds)
        cpu, wall = process_tree_cpu_seconds(pid) - cpu0, time.monotonic() - wall0
        return cpu_percent(cpu, wall)

    def measure_idle(self) -> None:
        """Every API stopped; the server alone; then each API alone, after it settled
        (its start runs the relay's backstop, which reads the users once)."""
        for deployment in self.deployments.values():
            deployment.api.stop()
        seconds, settle = self.cfg.scaling_idle_s, self.cfg.scaling_settle_s
        say(f"mongo server idle without an API, {seconds / 2:g}s")
        self.idle["no_api_percent"] = self.sample_idle(seconds / 2)
        for size, deployment in sorted(self.deployments.items()):
            say(f"mongo server idle with the {size:,}-user API alone, {seconds:g}s")
            pid = self.mongo_pid()
            cpu0 = process_tree_cpu_seconds(pid)
            deployment.api = self.new_api(size)
            deployment.api.start()
            time.sleep(settle)
            self.idle.setdefault("start_and_settle_db_cpu_s", {})[size] = (
                process_tree_cpu_seconds(pid) - cpu0
            )
            self.idle.setdefault("percent", {})[size] = self.sample_idle(seconds)
            deployment.api.stop()

    # --- the whole -----------------------------------------------------------------------

    def run(self) -> list[ScenarioResult]:
        with self.servers():
            say(f"hashing the seeded users' password once; sizes {self.cfg.scaling_sizes}")
            password_hash = hash_once(self.ctx.password, self.api_environment(0))
            for size in sorted(self.cfg.scaling_sizes):
                deployment = self.deploy(size, password_hash)
                say(f"{size:,} users seeded in {deployment.seed_seconds:.1f}s")
            self.idle["quiet_after_seeding_s"] = self.wait_until_quiet()
            say(f"mongo server quiet after {self.idle['quiet_after_seeding_s']:.0f}s; warming up")
            self.warm_up()
            self.run_rounds()
            self.measure_idle()
        return self.results()

    @contextmanager
    def servers(self) -> Iterator[None]:
        self.mongo.stop()  # a leftover of an interrupted run
        self.mongo.start()
        try:
            yield
        finally:
            for deployment in self.deployments.values():
                deployment.api.stop()
                deployment.users_file.unlink(missing_ok=True)
            self.mongo.stop()  # the memory backend: the seeded users go with it

    def round_rows(self) -> list[dict[int, dict[str, Any]]]:
        """Each round's figures by size, from the results of that round alone."""
        count = min(len(r) for d in self.deployments.values() for r in d.rounds.values())
        return [
            {
                size: size_row({flow: runs[number] for flow, runs in d.rounds.items()}, None)
                for size, d in sorted(self.deployments.items())
            }
            for number in range(count)
        ]

    def results(self) -> list[ScenarioResult]:
        merged: dict[int, dict[str, ScenarioResult]] = {}
        for size, deployment in sorted(self.deployments.items()):
            merged[size] = {
                flow: merge_rounds(f"scaling_{flow}_{size}", rounds)
                for flow, rounds in deployment.rounds.items()
            }
        percents: dict[int, float] = self.idle.get("percent", {})
        rows = {size: size_row(flows, percents.get(size)) for size, flows in merged.items()}
        rounds = self.round_rows()
        ratios = paired_ratios(rounds, rows)
        found = scaling_targets(rows, ratios)
        self.ctx.sections["scaling"] = (
            f"Scaling: each figure the median of {len(rounds)} rounds; the last line the"
            " median over the rounds of largest / smallest N within a round (idle CPU:"
            " one sample per N)\n" + scaling_table(rows, ratios) + "\n\n" + targets_table(found),
            {
                "sizes": sorted(rows),
                "rows": rows,
                "largest_over_smallest": ratios,
                "rows_per_round": rounds,
                "targets": found,
                "idle": self.idle,
                "seed_seconds": {s: d.seed_seconds for s, d in self.deployments.items()},
                "rounds": self.cfg.scaling_rounds,
                "seconds_per_measurement": self.cfg.scaling_seconds,
                "login_sample_users": LOGIN_SAMPLE,
                "mongo_heap": MONGO_HEAP,
            },
        )
        return [result for flows in merged.values() for result in flows.values()]

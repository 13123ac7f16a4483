"""`python -m bench.mongo_lookups [--sizes 1000 10000 100000] [--samples 200] [--url URL]`:
how long the MongoDB server takes to find one user as the collection grows, with the
service's indexes and documents shaped like its users. Prints the median and p95 of each
query shape and the server's resident memory; the database is dropped afterwards.

Query shapes, as auth_api sends them: by email (login), by _id (every authenticated
request that misses the profile cache), by _id guarded by a session's fields (refresh
and logout, a compare-and-set), and the outbox relay's poll for pending events."""

from __future__ import annotations

import argparse
import secrets
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pymongo import ASCENDING, MongoClient
from pymongo.collection import Collection

from infra.stack_lib.api import Stack

Document = dict[str, Any]
BATCH = 1000


def user(n: int) -> Document:
    """A user as the service stores it: one session, its outbox already delivered."""
    now = datetime.now(UTC)
    session = {"refresh_hash": f"hash-{n}", "created_at": now, "revoked_at": None}
    return {
        "_id": f"user-{n}",
        "email": f"User.{n}@Example.com",
        "email_normalized": f"user.{n}@example.com",
        "display_name": f"User {n}",
        "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$" + secrets.token_urlsafe(64),
        "created_at": now,
        "updated_at": now,
        "last_login_at": now,
        "is_active": True,
        "role": "user",
        "outbox": [],
        "sessions": {f"session-{n}": session},
    }


def guard(n: int) -> Document:
    session = f"sessions.session-{n}"
    return {
        "_id": f"user-{n}",
        f"{session}.refresh_hash": f"hash-{n}",
        f"{session}.revoked_at": None,
    }


def query_shapes(users: Collection[Document]) -> dict[str, Callable[[int], object]]:
    pending = {"outbox.id": {"$exists": True}}
    return {
        "email": lambda n: users.find_one({"email_normalized": f"user.{n}@example.com"}),
        "_id": lambda n: users.find_one({"_id": f"user-{n}"}, {"outbox": 0, "sessions": 0}),
        "_id+guard": lambda n: users.find_one(guard(n), {"_id": 1}),
        "pending poll": lambda _: list(users.find(pending, {"outbox": 1}).limit(100)),
    }


def timings_ms(users: Collection[Document], size: int, samples: int) -> dict[str, list[float]]:
    """One shape at a time: a slow shape's garbage must not land on the next one's time."""
    picks = [secrets.randbelow(size) for _ in range(samples)]
    found: dict[str, list[float]] = {}
    for shape, run in query_shapes(users).items():
        for n in picks:
            started = time.perf_counter()
            run(n)
            found.setdefault(shape, []).append((time.perf_counter() - started) * 1000)
    return found


def fill(users: Collection[Document], start: int, stop: int) -> None:
    for first in range(start, stop, BATCH):
        users.insert_many([user(n) for n in range(first, min(first + BATCH, stop))])


def rss_mib(pid: int | None) -> str:
    if pid is None:
        return "-"
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return f"{int(line.split()[1]) / 1024:.0f}"
    return "-"


def report(size: int, found: dict[str, list[float]], rss: str) -> str:
    cells = []
    for shape, values in found.items():
        p95 = statistics.quantiles(values, n=20)[-1]
        cells.append(f"{shape} {statistics.median(values):7.2f} / {p95:7.2f}")
    return f"{size:>7}  " + "  ".join(cells) + f"  RSS {rss} MiB"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.mongo_lookups", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--url", help="default: the shared stack's mongo server")
    parser.add_argument("--pid", type=int, help="server pid for RSS (default: the stack's)")
    args = parser.parse_args(argv)
    if not 1 <= args.samples <= 10_000 or not all(0 < s <= 1_000_000 for s in args.sizes):
        parser.error("--samples in [1, 10000], --sizes in [1, 1000000]")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    shared = Stack()
    url = args.url or shared.client_env(["mongo"])["AUTH_MONGO_URL"]
    pid = args.pid or (None if args.url else shared.pid("mongo"))
    client: MongoClient[Document] = MongoClient(url, serverSelectionTimeoutMS=5000)
    database = f"lookups_{uuid.uuid4().hex[:10]}"
    users = client[database]["users"]
    users.create_index([("email_normalized", ASCENDING)], unique=True)
    users.create_index([("outbox.id", ASCENDING)], sparse=True)
    print(f"{url}; median / p95 in ms over {args.samples} random users")
    try:
        filled = 0
        for size in sorted(args.sizes):
            fill(users, filled, size)
            filled = size
            print(report(size, timings_ms(users, size, args.samples), rss_mib(pid)), flush=True)
    finally:
        client.drop_database(database)
        client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

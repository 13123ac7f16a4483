"""After the load: wait until every recorded event has left the outbox, then hold the
ledger against what MongoDB stored and what Kafka received."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from pymongo import AsyncMongoClient

from soak.load import Ledger


@dataclass
class Findings:
    users_stored: int = 0
    registered_events: int = 0
    logged_in_events: int = 0
    redelivered: int = 0  # records repeating an event id: at-least-once, not a loss
    drained_after_seconds: float = 0.0
    violations: list[str] = field(default_factory=list)


async def wait_for_drain(client: httpx.AsyncClient, seconds: float) -> float:
    """Seconds until /health/ready reports an empty outbox; fails after `seconds`."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        outbox = (await client.get("/health/ready")).json().get("outbox", {})
        if outbox.get("backlog") == 0:
            return time.monotonic() - started
        await asyncio.sleep(0.5)
    raise TimeoutError(f"the outbox did not drain within {seconds:.0f}s")


async def stored_users(mongo_url: str, database: str) -> dict[str, dict[str, Any]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    try:
        users = client[database]["users"]
        projection = {"email_normalized": 1, "outbox": 1}
        return {doc["_id"]: doc async for doc in users.find({}, projection)}
    finally:
        await client.close()


async def topic_records(bootstrap: str, topic: str, seconds: float = 60) -> list[dict[str, Any]]:
    """Every record the topic holds: each partition read up to its end offset."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    values: list[dict[str, Any]] = []
    try:
        await consumer.start()
        partitions = list(consumer.assignment())
        ends = await consumer.end_offsets(partitions)
        async with asyncio.timeout(seconds):
            while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    values += [json.loads(record.value) for record in batch]
    finally:
        await consumer.stop()
    return values


def check_users(ledger: Ledger, users: dict[str, dict[str, Any]], findings: Findings) -> None:
    findings.users_stored = len(users)
    emails = Counter(doc["email_normalized"] for doc in users.values())
    for user_id, email in ledger.registered.items():
        if user_id not in users or emails[email.lower()] != 1:
            findings.violations.append(f"registration {user_id}: not exactly one user document")
    if pending := sum(1 for doc in users.values() if doc.get("outbox")):
        findings.violations.append(f"{pending} users still hold undelivered events")


def one_per_id(records: list[dict[str, Any]], findings: Findings) -> list[dict[str, Any]]:
    unique = {record["id"]: record for record in records}
    findings.redelivered += len(records) - len(unique)
    return list(unique.values())


def check_registered(
    records: list[dict[str, Any]], users: dict[str, dict[str, Any]], findings: Findings
) -> None:
    events = one_per_id(records, findings)
    findings.registered_events = len(events)
    per_user = Counter(event["subject"] for event in events)
    wrong = {uid for uid in users if per_user[uid] != 1} | (set(per_user) - set(users))
    for user_id in sorted(wrong)[:20]:
        findings.violations.append(
            f"user {user_id}: {per_user[user_id]} user.registered events for"
            f" {int(user_id in users)} user documents"
        )


def check_logged_in(ledger: Ledger, records: list[dict[str, Any]], findings: Findings) -> None:
    events = one_per_id(records, findings)
    findings.logged_in_events = len(events)
    per_session = Counter(event["data"]["session_id"] for event in events)
    missing = [sid for sid in ledger.login_sessions if per_session[sid] != 1]
    for session_id in missing[:20]:
        findings.violations.append(
            f"login of session {session_id}: {per_session[session_id]} user.logged_in events"
        )


async def verify(ledger: Ledger, env: dict[str, str], findings: Findings) -> None:
    users = await stored_users(env["AUTH_MONGO_URL"], env["AUTH_MONGO_DB"])
    check_users(ledger, users, findings)
    bootstrap, prefix = env["AUTH_KAFKA_BOOTSTRAP"], env["AUTH_KAFKA_TOPIC_PREFIX"]
    check_registered(await topic_records(bootstrap, prefix + "user.registered"), users, findings)
    check_logged_in(ledger, await topic_records(bootstrap, prefix + "user.logged_in"), findings)

"""After the load: wait until every recorded event has left the outbox, then hold the
ledger against what MongoDB stored and what Kafka received."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from pymongo import AsyncMongoClient

from quizauth_wire import EventType, topic_for
from soak.load import Ledger

# A second copy of an event recorded in this window around the Kafka restart is expected
# of at-least-once delivery (a publish that timed out although the broker kept it); one
# recorded elsewhere is a duplicate of the steady state, which the leases rule out.
OUTAGE_BEFORE, OUTAGE_AFTER = timedelta(seconds=5), timedelta(seconds=10)


@dataclass
class Findings:
    users_stored: int = 0
    registered_events: int = 0
    logged_in_events: int = 0
    redelivered: int = 0  # records repeating an event id: at-least-once, not a loss
    # Over every event topic: how many event ids arrived once, twice, ...
    copies_per_event: Counter[int] = field(default_factory=Counter)
    duplicated_near_outage: int = 0  # ids with more than one copy, recorded near the restart
    duplicated_steady: int = 0  # ids with more than one copy, recorded anywhere else
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


def near_outage(ledger: Ledger, recorded: datetime) -> bool:
    stopped, back = ledger.kafka_stopped_at, ledger.kafka_back_at
    if stopped is None:
        return False
    return stopped - OUTAGE_BEFORE <= recorded <= (back or stopped) + OUTAGE_AFTER


def count_copies(
    ledger: Ledger, records: dict[EventType, list[dict[str, Any]]], findings: Findings
) -> None:
    copies = Counter(record["id"] for topic in records.values() for record in topic)
    findings.copies_per_event = Counter(copies.values())
    times = {r["id"]: r["time"] for topic in records.values() for r in topic}
    for event_id, count in copies.items():
        if count > 1:
            recorded = datetime.fromisoformat(times[event_id].replace("Z", "+00:00"))
            if near_outage(ledger, recorded):
                findings.duplicated_near_outage += 1
            else:
                findings.duplicated_steady += 1
    if findings.duplicated_steady:
        findings.violations.append(
            f"{findings.duplicated_steady} events recorded away from the Kafka restart"
            " arrived more than once"
        )


async def verify(ledger: Ledger, env: dict[str, str], findings: Findings) -> None:
    users = await stored_users(env["AUTH_MONGO_URL"], env["AUTH_MONGO_DB"])
    check_users(ledger, users, findings)
    bootstrap, prefix = env["AUTH_KAFKA_BOOTSTRAP"], env["AUTH_KAFKA_TOPIC_PREFIX"]
    records = {kind: await topic_records(bootstrap, topic_for(kind, prefix)) for kind in EventType}
    count_copies(ledger, records, findings)
    check_registered(records[EventType.USER_REGISTERED], users, findings)
    check_logged_in(ledger, records[EventType.USER_LOGGED_IN], findings)

"""Reading what reached Kafka, and checking it against the event schemas."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from jsonschema import Draft202012Validator

from tests.support.polling import eventually
from tests.support.servers import REPO

SCHEMA_DIR = REPO / "schemas" / "events"
# Keys that must never travel in an event, wherever they appear.
SECRET_WORDS = ("password", "hash", "token", "secret")


def schema_path(event_type: str) -> Path:
    return SCHEMA_DIR / f"{event_type}.schema.json"


def validator(event_type: str) -> Draft202012Validator:
    schema = json.loads(schema_path(event_type).read_text())
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def secret_keys(value: Any, path: str = "") -> list[str]:
    """Paths of every key, at any depth, that names a secret."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if any(word in key.lower() for word in SECRET_WORDS):
                found.append(f"{path}/{key}")
            found += secret_keys(item, f"{path}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += secret_keys(item, f"{path}/{index}")
    return found


async def read_topic(bootstrap: str, topic: str, seconds: float = 10.0) -> list[Any]:
    """Every message the topic holds now, by partition and offset: reads each partition
    up to its end offset, so the count is exact rather than "what arrived in time"."""
    # Without a group, a subscription is assigned every partition of the topic at start.
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    records: list[Any] = []
    try:
        await consumer.start()
        partitions = list(consumer.assignment())
        ends = await consumer.end_offsets(partitions)
        async with asyncio.timeout(seconds):
            while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    records += batch
    finally:
        await consumer.stop()
    return sorted(records, key=lambda r: (r.partition, r.offset))


async def publish(bootstrap: str, topic: str, values: list[tuple[bytes | None, bytes]]) -> None:
    """Send (key, value) pairs as any producer could, duplicates and garbage included."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        await producer.start()
        for key, value in values:
            await producer.send_and_wait(topic, value=value, key=key)
    finally:
        await producer.stop()


async def outbox_drained(api: httpx.AsyncClient, seconds: float = 15.0) -> None:
    """Wait until the relay has delivered everything recorded (Kafka acknowledged it)."""

    async def empty() -> bool:
        response = await api.get("/health/ready")
        return bool(response.json()["outbox"].get("backlog") == 0)

    await eventually(empty, seconds, "the outbox to drain")


def envelopes(records: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(record.value) for record in records]

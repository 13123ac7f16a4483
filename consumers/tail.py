"""`python -m consumers tail`: print events as they arrive, one JSON line each, for ops.
No consumer group: it commits nothing and disturbs no other consumer."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from typing import Any, TextIO

from aiokafka import AIOKafkaConsumer


def describe(record: Any) -> dict[str, Any]:
    """A message as one JSON object: where it is, and the event (or the raw text)."""
    line: dict[str, Any] = {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp": datetime.fromtimestamp(record.timestamp / 1000, UTC).isoformat(
            timespec="milliseconds"
        ),
        "key": record.key.decode(errors="replace") if record.key is not None else None,
    }
    if record.headers:  # dead-letter topics explain the failure here
        line["headers"] = {k: v.decode(errors="replace") for k, v in record.headers}
    try:
        line["event"] = json.loads(record.value or b"")
    except (UnicodeDecodeError, json.JSONDecodeError):
        line["raw"] = (record.value or b"").decode(errors="replace")
    return line


def event_topics_pattern(prefix: str, event_types: list[str]) -> str:
    """Matches the auth event topics, including those created after the tail started."""
    alternatives = "|".join(re.escape(event_type) for event_type in event_types)
    return f"^{re.escape(prefix)}({alternatives})$"


async def tail(
    bootstrap: str,
    out: TextIO,
    stop: asyncio.Event,
    *,
    topics: list[str] | None = None,
    pattern: str | None = None,
    from_beginning: bool = False,
    limit: int | None = None,
) -> int:
    """Print messages of `topics` (or of those matching `pattern`) until `stop` is set
    or `limit` were printed; how many were."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest" if from_beginning else "latest",
        metadata_max_age_ms=5_000,  # notice new topics soon
    )
    # A pattern never creates a topic; naming one that does not exist may, on brokers
    # that auto-create topics.
    consumer.subscribe(topics=topics or (), pattern=pattern)
    printed = 0
    try:
        await consumer.start()
        while not stop.is_set() and (limit is None or printed < limit):
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records[: None if limit is None else limit - printed]:
                    out.write(json.dumps(describe(record), ensure_ascii=False) + "\n")
                    printed += 1
            out.flush()
    finally:
        await consumer.stop()
    return printed

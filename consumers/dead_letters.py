"""Where a failed message goes and what travels with it: the same key and value on
`<topic>.dlq`, the original headers, then why and where from it failed."""

from __future__ import annotations

from datetime import UTC, datetime

from consumers.transport import Headers, Record

DLQ_SUFFIX = ".dlq"


def dlq_topic(topic: str) -> str:
    return f"{topic}{DLQ_SUFFIX}"


def dead_letter_headers(
    record: Record, reason: str, error: str, group: str, attempts: int
) -> Headers:
    """The original headers, then why and where from the message failed."""
    failure = {
        "dlq.reason": reason,
        "dlq.error": error[:2000],
        "dlq.original_topic": record.topic,
        "dlq.original_partition": str(record.partition),
        "dlq.original_offset": str(record.offset),
        "dlq.consumer_group": group,
        "dlq.attempts": str(attempts),
        "dlq.failed_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
    }
    return (*record.headers, *((k, v.encode()) for k, v in failure.items()))

"""The runner's transport in process: topics as lists, committed offsets per group.
It keeps Kafka's rules that the runner relies on: offsets per partition, order within
a partition, delivery from the committed offset (or the first) when a group member
starts. One member per group: there is no rebalancing."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Mapping, Sequence

from consumers.dead_letters import dlq_topic
from consumers.transport import Headers, Partition, Record


class MemoryBroker:
    def __init__(self, partitions: int = 3) -> None:
        self.partitions = partitions
        self._logs: dict[Partition, list[Record]] = {}
        self._committed: dict[tuple[str, Partition], int] = {}
        self._arrival = asyncio.Event()

    def create_topic(self, topic: str) -> None:
        """Idempotent, like creating a topic that exists already."""
        for number in range(self.partitions):
            self._logs.setdefault(Partition(topic, number), [])

    def topic_partitions(self, topic: str) -> list[Partition]:
        return sorted(p for p in self._logs if p.topic == topic)

    def publish(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Headers = (),
        partition: int | None = None,
    ) -> Record:
        """Append to the partition of the key (as a stable hash picks it), or to the one
        given; the record as a consumer will read it."""
        self.create_topic(topic)
        if partition is None:
            partition = zlib.crc32(key or b"") % self.partitions
        log = self._logs[Partition(topic, partition)]
        record = Record(topic, partition, len(log), key, value, headers)
        log.append(record)
        arrival, self._arrival = self._arrival, asyncio.Event()
        arrival.set()  # wakes the polls waiting for records
        return record

    def records(self, topic: str) -> list[Record]:
        """Everything the topic holds, by partition then offset."""
        return [r for p in self.topic_partitions(topic) for r in self._logs[p]]

    def end_offset(self, partition: Partition) -> int:
        return len(self._logs.get(partition, []))

    def read(self, partition: Partition, offset: int, limit: int) -> list[Record]:
        return self._logs.get(partition, [])[offset : offset + limit]

    def committed(self, group_id: str, partition: Partition) -> int | None:
        return self._committed.get((group_id, partition))

    def commit(self, group_id: str, partition: Partition, offset: int) -> None:
        self._committed[(group_id, partition)] = offset

    async def arrival(self, timeout_seconds: float) -> None:
        """Wait until a record is published, or the timeout passes."""
        try:
            async with asyncio.timeout(timeout_seconds):
                await self._arrival.wait()
        except TimeoutError:
            pass

    def source(self, topics: Sequence[str], group_id: str) -> MemoryRecordSource:
        return MemoryRecordSource(self, topics, group_id)

    def dead_letters(self) -> MemoryDeadLetterSink:
        return MemoryDeadLetterSink(self)


class MemoryRecordSource:
    """The group's only member: every partition of its topics is assigned to it."""

    def __init__(self, broker: MemoryBroker, topics: Sequence[str], group_id: str) -> None:
        self._broker = broker
        self._topics = list(topics)
        self._group_id = group_id
        self._positions: dict[Partition, int] = {}
        self.started = False
        self.stopped = False

    async def start(self) -> None:
        for topic in self._topics:  # the dead-letter topics too, as the Kafka source does
            self._broker.create_topic(topic)
            self._broker.create_topic(dlq_topic(topic))
        for topic in self._topics:
            for partition in self._broker.topic_partitions(topic):
                committed = self._broker.committed(self._group_id, partition)
                self._positions[partition] = committed or 0  # earliest for a new group
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def poll(self, timeout_seconds: float, max_records: int) -> dict[Partition, list[Record]]:
        if not self.started or self.stopped:
            raise RuntimeError("poll() on a source that is not running")
        batches = self._take(max_records)
        if not batches:
            await self._broker.arrival(timeout_seconds)
            batches = self._take(max_records)
        return batches

    def _take(self, max_records: int) -> dict[Partition, list[Record]]:
        batches: dict[Partition, list[Record]] = {}
        for partition, position in self._positions.items():
            records = self._broker.read(partition, position, max_records)
            if records:
                batches[partition] = records
                self._positions[partition] = position + len(records)
                max_records -= len(records)
            if max_records == 0:
                break
        return batches

    async def commit(self, offsets: Mapping[Partition, int]) -> None:
        for partition, offset in offsets.items():
            self._broker.commit(self._group_id, partition, offset)

    async def lags(self) -> dict[Partition, int]:
        return {p: self._broker.end_offset(p) - at for p, at in self._positions.items()}


class MemoryDeadLetterSink:
    def __init__(self, broker: MemoryBroker) -> None:
        self._broker = broker

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, record: Record, headers: Headers) -> None:
        self._broker.publish(dlq_topic(record.topic), record.key, record.value, headers)

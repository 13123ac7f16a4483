"""Wrappers around the in-process broker's source and sink that misbehave on purpose:
an acknowledgement held back, a refused letter, refused commits."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from consumers.memory import MemoryBroker, MemoryDeadLetterSink, MemoryRecordSource
from consumers.transport import CommitFailed, Headers, Partition, Record


class GatedDeadLetters:
    """Holds each letter until `ack` is set, or refuses it with `refuse`."""

    def __init__(self, broker: MemoryBroker, refuse: Exception | None = None) -> None:
        self._sink = MemoryDeadLetterSink(broker)
        self._refuse = refuse
        self.ack = asyncio.Event()
        self.waiting = 0
        self.stopped = False

    async def start(self) -> None:
        await self._sink.start()

    async def stop(self) -> None:
        self.stopped = True

    async def send(self, record: Record, headers: Headers) -> None:
        if self._refuse is not None:
            raise self._refuse
        self.waiting += 1
        await self.ack.wait()
        await self._sink.send(record, headers)


class FlakyCommits:
    """Raises the given errors at the first commits, then commits."""

    def __init__(self, source: MemoryRecordSource, errors: Sequence[CommitFailed]) -> None:
        self._source = source
        self._errors = list(errors)
        self.attempts = 0

    async def start(self) -> None:
        await self._source.start()

    async def stop(self) -> None:
        await self._source.stop()

    async def poll(self, timeout_seconds: float, max_records: int) -> dict[Partition, list[Record]]:
        return await self._source.poll(timeout_seconds, max_records)

    async def commit(self, offsets: Mapping[Partition, int]) -> None:
        self.attempts += 1
        if self._errors:
            raise self._errors.pop(0)
        await self._source.commit(offsets)

    async def lags(self) -> dict[Partition, int]:
        return await self._source.lags()


class WithSink:
    """The broker's own source, with the given dead-letter sink."""

    def __init__(self, broker: MemoryBroker, sink: GatedDeadLetters) -> None:
        self._broker, self._sink = broker, sink

    def source(self, topics: Sequence[str], group_id: str) -> MemoryRecordSource:
        return self._broker.source(topics, group_id)

    def dead_letters(self) -> GatedDeadLetters:
        return self._sink


class WithSource:
    """The broker's own dead-letter sink, with the given source."""

    def __init__(self, broker: MemoryBroker, source: FlakyCommits) -> None:
        self._broker, self._source = broker, source

    def source(self, topics: Sequence[str], group_id: str) -> FlakyCommits:
        return self._source

    def dead_letters(self) -> MemoryDeadLetterSink:
        return self._broker.dead_letters()

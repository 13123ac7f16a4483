"""What the runner needs from a broker, and nothing more: a source of records that it
polls and commits, and a sink for dead letters. consumers/kafka.py adapts aiokafka to
these; consumers/memory.py is the in-process twin the unit tests run the runner on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

Headers = tuple[tuple[str, bytes], ...]


class Partition(NamedTuple):
    topic: str
    partition: int


@dataclass(frozen=True)
class Record:
    """One message as it was read: where it sits, and its key, value and headers."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers = ()

    @property
    def source(self) -> Partition:
        return Partition(self.topic, self.partition)


class CommitFailed(Exception):
    """The offsets were not committed; a later commit covers them, and until then a
    restart redelivers those messages."""


class PartitionsRevoked(CommitFailed):
    """The group was rebalanced before the commit: another member owns the partitions
    now, and it will be redelivered what this one did not commit."""


class RecordSource(Protocol):
    """A consumer-group member: it reads the partitions assigned to it, in offset order
    within each, and commits only when told to."""

    async def start(self) -> None:
        """Join the group; raises if the broker cannot be reached."""

    async def stop(self) -> None:
        """Leave the group; harmless when not started."""

    async def poll(self, timeout_seconds: float, max_records: int) -> dict[Partition, list[Record]]:
        """The next records, by partition, at most `max_records` in all; waits up to
        `timeout_seconds` for some, then returns what it has, possibly nothing."""

    async def commit(self, offsets: Mapping[Partition, int]) -> None:
        """Record, per partition, the offset of the next record to read; raises
        CommitFailed (or PartitionsRevoked) when the broker refuses."""

    async def lags(self) -> dict[Partition, int]:
        """Records not yet read, per assigned partition that has been fetched from."""


class DeadLetterSink(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None:
        """Harmless when not started."""

    async def send(self, record: Record, headers: Headers) -> None:
        """Return only once the letter is durably stored (acknowledged): the caller
        commits the source offset right after."""


class Transport(Protocol):
    """Makes the runner's source and sink, once it knows its topics and group."""

    def source(self, topics: Sequence[str], group_id: str) -> RecordSource: ...

    def dead_letters(self) -> DeadLetterSink: ...

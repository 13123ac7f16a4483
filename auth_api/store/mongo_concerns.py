"""What the user store asks of a MongoDB replica set: how many members acknowledge a
write, which member answers a read, and what the relay may read.

- Writes: `w: majority` by default. An acknowledged write then survives the primary's
  failure; with `w: 1` a failover can roll back a registration, a logout or a refresh
  that the client was told had happened.
- Reads: from the primary (the driver's default). The store reads what it has just
  written (a login's session, then /auth/me), which a lagging secondary may not have.
- The relay's reads of pending events: `readConcern: majority`, so that no event is
  published whose write a failover could still roll back. Kafka would keep an event
  that MongoDB forgot.

The connection string may set each (`w=`, `journal=`, `readPreference=`,
`readConcernLevel=`); the settings AUTH_MONGO_WRITE_CONCERN and
AUTH_MONGO_RELAY_READ_CONCERN, when given, win over it. Every collection the service
writes (users, with their sessions, one-time tokens, mails and events; outbox_pending;
signing_keys) is reached through `concerned_database`, so none is left at the driver's
`w: 1`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.read_concern import ReadConcern
from pymongo.read_preferences import Primary, _ServerMode
from pymongo.write_concern import WriteConcern


@dataclass(frozen=True)
class MongoConcerns:
    write: WriteConcern = field(default_factory=lambda: WriteConcern(w="majority"))
    read_preference: _ServerMode = field(default_factory=Primary)
    relay_read: ReadConcern = field(default_factory=lambda: ReadConcern("majority"))


def concerns_for(
    client: AsyncMongoClient[Any], write: str | None, relay_read: str
) -> MongoConcerns:
    """The concerns from the settings, else from the connection string, else majority
    writes and primary reads. `write`: None to take the URL's (or majority); `relay_read`:
    a level, or "" to take the URL's (or the server's default)."""
    from_url = client.write_concern.document
    if write:
        chosen = WriteConcern(**{**from_url, "w": int(write) if write.isdigit() else write})
    elif from_url.get("w") is not None:
        chosen = client.write_concern
    else:
        chosen = WriteConcern(**{**from_url, "w": "majority"})
    relay = ReadConcern(relay_read) if relay_read else client.read_concern
    return MongoConcerns(chosen, client.read_preference, relay)


def concerned_database(
    client: AsyncMongoClient[Any], name: str, concerns: MongoConcerns | None
) -> AsyncDatabase[Any]:
    """The service's database with these concerns (the defaults when None): every store
    takes its collections from here."""
    chosen = concerns or MongoConcerns()
    return client.get_database(
        name, write_concern=chosen.write, read_preference=chosen.read_preference
    )

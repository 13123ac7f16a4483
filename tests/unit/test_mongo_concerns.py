"""The write concern, read preference and the relay's read concern reach the driver's
collection objects, from the defaults, the connection string or the settings. A replica
set cannot be started here, so what is checked is what the driver was told to send;
building a client connects to nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from pydantic import ValidationError
from pymongo.asynchronous.collection import AsyncCollection

from auth_api.container import Backends, connected_backends
from auth_api.settings import Settings
from auth_api.store.key_store import MongoKeyStore
from auth_api.store.mongo import MongoUserStore
from auth_api.store.mongo_admin import MongoAdminStore

NOWHERE = "mongodb://127.0.0.1:9"


@asynccontextmanager
async def store_for(settings: Settings) -> AsyncIterator[Backends]:
    backends: Backends = connected_backends(settings)
    try:
        yield backends
    finally:
        await backends.close_connections()


def collections(backends: Backends) -> dict[str, AsyncCollection[dict[str, Any]]]:
    """Every collection object the connected stores write or read through: the users
    (sessions, one-time tokens, mails and events live in their documents), the relay's
    view of them and of the markers, the admin API's and the signing keys'."""
    store, admin, keys = backends.users, backends.admin, backends.keys
    assert isinstance(store, MongoUserStore)
    assert isinstance(admin, MongoAdminStore)
    assert isinstance(keys, MongoKeyStore)
    return {
        "users": store._users,
        "relay users": store._outbox._users,
        "relay markers": store._outbox._markers,
        "admin users": admin._users,
        "signing keys": keys._keys,
    }


def settings_with(make_settings: Callable[..., Settings], url: str, **extra: Any) -> Settings:
    return make_settings(mongo_url=url, redis_url="redis://127.0.0.1:9/0", **extra)


async def test_by_default_writes_wait_for_a_majority_and_the_relay_reads_what_it_holds(
    make_settings: Callable[..., Settings],
) -> None:
    async with store_for(settings_with(make_settings, NOWHERE)) as store:
        found = collections(store)
    for name, collection in found.items():
        assert collection.write_concern.document == {"w": "majority"}, name
        assert collection.read_preference.mongos_mode == "primary", name
    for name in ("users", "admin users", "signing keys"):  # the server's: the primary's own
        assert found[name].read_concern.level is None, name
    assert found["relay users"].read_concern.level == "majority"
    assert found["relay markers"].read_concern.level == "majority"


async def test_the_connection_string_sets_what_the_settings_leave_unset(
    make_settings: Callable[..., Settings],
) -> None:
    url = f"{NOWHERE}/?w=2&journal=true&readPreference=primaryPreferred&readConcernLevel=local"
    async with store_for(settings_with(make_settings, url)) as store:
        found = collections(store)
    for name, collection in found.items():
        assert collection.write_concern.document == {"w": 2, "j": True}, name
    assert found["users"].read_preference.mongos_mode == "primaryPreferred"
    assert found["users"].read_concern.level == "local"
    # The relay's read concern has a default of its own: majority unless set empty.
    assert found["relay users"].read_concern.level == "majority"


async def test_the_settings_win_over_the_connection_string(
    make_settings: Callable[..., Settings],
) -> None:
    url = f"{NOWHERE}/?w=2&journal=true&readConcernLevel=local"
    settings = settings_with(
        make_settings, url, mongo_write_concern="3", mongo_relay_read_concern=""
    )
    async with store_for(settings) as store:
        found = collections(store)
    for name, collection in found.items():
        assert collection.write_concern.document == {"w": 3, "j": True}, name
    assert found["relay users"].read_concern.level == "local"  # "": the URL's


async def test_a_write_concern_by_tag_set_name_is_kept_as_a_name(
    make_settings: Callable[..., Settings],
) -> None:
    settings = settings_with(make_settings, NOWHERE, mongo_write_concern="twoRegions")
    async with store_for(settings) as backends:
        found = collections(backends)
    for name, collection in found.items():
        assert collection.write_concern.document == {"w": "twoRegions"}, name


@pytest.mark.parametrize("value", ["0", "-1", "", "majority please"])
def test_unacknowledged_or_malformed_write_concerns_are_refused(
    make_settings: Callable[..., Settings], value: str
) -> None:
    with pytest.raises(ValidationError, match="mongo_write_concern"):
        settings_with(make_settings, NOWHERE, mongo_write_concern=value)

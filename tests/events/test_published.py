"""What the service publishes: one valid event per state change that happened, keyed
by the user, with no secret in it; nothing for a change that did not happen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jwt
import pytest
from fastapi import FastAPI

from auth_api.app import create_app
from auth_api.events.publisher import KafkaPublisher, producer_config
from auth_api.settings import Settings
from tests.conftest import running
from tests.events.support import envelopes, outbox_drained, read_topic, secret_keys, validator
from tests.support.api import PASSWORD, bearer, login, register, unique_email
from tests.support.servers import Servers

pytestmark = pytest.mark.integration
SettingsFactory = Callable[..., Settings]


async def published(servers: Servers, settings: Settings, event_type: str) -> list[Any]:
    return await read_topic(servers.kafka_bootstrap, settings.kafka_topic_prefix + event_type)


def assert_valid_event(record: Any, event_type: str, user_id: str, *forbidden: str) -> None:
    """Valid against its schema, keyed and about the user, and free of secrets."""
    (envelope,) = envelopes([record])
    validator(event_type).validate(envelope)
    assert record.key == user_id.encode()
    assert envelope["subject"] == envelope["data"]["user_id"] == user_id
    assert secret_keys(envelope) == []
    for secret in (PASSWORD, *forbidden):
        assert secret.encode() not in record.value


async def test_one_registration_publishes_one_valid_user_registered(
    real_settings: SettingsFactory, servers: Servers
) -> None:
    settings = real_settings()
    email = unique_email()
    async with running(create_app(settings)) as api:
        response = await register(api, email, display_name="Ada")
        assert response.status_code == 201
        await outbox_drained(api)
    user_id = response.json()["id"]
    (record,) = await published(servers, settings, "user.registered")
    assert_valid_event(record, "user.registered", user_id)
    data = envelopes([record])[0]["data"]
    assert (data["email"], data["display_name"]) == (email, "Ada")


async def test_login_and_logout_publish_one_valid_event_each(
    real_settings: SettingsFactory, servers: Servers
) -> None:
    settings = real_settings()
    async with running(create_app(settings)) as api:
        email = unique_email()
        user_id = (await register(api, email)).json()["id"]
        token = (await login(api, email)).json()["access_token"]
        assert (await api.post("/auth/logout", headers=bearer(token))).status_code == 204
        await outbox_drained(api)
    (logged_in,) = await published(servers, settings, "user.logged_in")
    assert_valid_event(logged_in, "user.logged_in", user_id, token)
    assert envelopes([logged_in])[0]["data"]["method"] == "password"
    (logged_out,) = await published(servers, settings, "user.logged_out")
    assert_valid_event(logged_out, "user.logged_out", user_id, token)
    assert (
        envelopes([logged_out])[0]["data"]["session_id"]
        == (envelopes([logged_in])[0]["data"]["session_id"])
    )


async def test_logout_everywhere_publishes_one_session_revoked_and_its_cut_off(
    real_settings: SettingsFactory, servers: Servers
) -> None:
    settings = real_settings()
    async with running(create_app(settings)) as api:
        email = unique_email()
        user_id = (await register(api, email)).json()["id"]
        pairs = [(await login(api, email)).json() for _ in range(2)]
        logout_all = await api.post("/auth/logout-all", headers=bearer(pairs[0]["access_token"]))
        assert logout_all.status_code == 204
        await outbox_drained(api)
    tokens = [pair[name] for pair in pairs for name in ("access_token", "refresh_token")]
    (revoked,) = await published(servers, settings, "session.revoked")
    assert_valid_event(revoked, "session.revoked", user_id, *tokens)
    sessions = {
        e["data"]["session_id"]
        for e in envelopes(await published(servers, settings, "user.logged_in"))
    }
    data = envelopes([revoked])[0]["data"]
    assert (set(data["session_ids"]), data["reason"]) == (sessions, "logout_all")
    (cut_off,) = await published(servers, settings, "user.tokens_revoked")
    assert_valid_event(cut_off, "user.tokens_revoked", user_id, *tokens)
    data = envelopes([cut_off])[0]["data"]
    assert data["reason"] == "logout_all"
    # Tokens issued in the logout-all's own second are dead too: the cut-off is after it.
    issued = [
        jwt.decode(pair["access_token"], options={"verify_signature": False}) for pair in pairs
    ]
    assert all(claims["iat"] < data["valid_after"] for claims in issued)


async def test_state_changes_that_did_not_happen_publish_nothing(
    real_settings: SettingsFactory, servers: Servers
) -> None:
    settings = real_settings()
    email = unique_email()
    async with running(create_app(settings)) as api:
        assert (await register(api, email)).status_code == 201
        assert (await register(api, email)).status_code == 409
        assert (await register(api, unique_email(), password="password")).status_code == 422
        assert (await login(api, email, "not the password")).status_code == 401
        assert (await login(api, unique_email())).status_code == 401
        # One real login after the failures: the topic works, so silence above means nothing.
        assert (await login(api, email)).status_code == 200
        await outbox_drained(api)
    assert len(await published(servers, settings, "user.registered")) == 1
    assert len(await published(servers, settings, "user.logged_in")) == 1


def live_producer(app: FastAPI) -> Any:
    publisher = app.state.container.backends.publisher
    assert isinstance(publisher, KafkaPublisher)
    return publisher._producer  # the started AIOKafkaProducer; no public accessor


async def test_the_producer_waits_for_all_replicas_and_is_idempotent(
    real_settings: SettingsFactory,
) -> None:
    config = producer_config("127.0.0.1:9092", 2000)
    assert config["acks"] == "all"
    assert config["enable_idempotence"] is True
    app = create_app(real_settings())
    async with running(app) as api:
        assert (await register(api)).status_code == 201
        await outbox_drained(api)
        producer = live_producer(app)
        assert producer._sender._acks == -1  # "all", as aiokafka encodes it on the wire
        # The broker handed out a producer id: idempotent produce is in effect, not just asked.
        assert producer._txn_manager is not None
        assert producer._txn_manager.has_pid()

"""Helpers for the session tests."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
from fastapi import FastAPI

from auth_api.events.publisher import MemoryPublisher
from tests.events.support import read_topic
from tests.support.api import PASSWORD, bearer, register, unique_email


async def logged_in(
    client: httpx.AsyncClient, email: str | None = None, agent: str = "test-agent/1.0"
) -> tuple[str, dict[str, str | int]]:
    """Register if needed, log in; the email and the token response."""
    if email is None:
        email = unique_email()
        assert (await register(client, email)).status_code == 201
    response = await client.post(
        "/auth/login",
        json={"email": email, "password": PASSWORD},
        headers={"User-Agent": agent},
    )
    assert response.status_code == 200, response.text
    return email, response.json()


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/auth/refresh", json={"refresh_token": token})


async def me_status(client: httpx.AsyncClient, access_token: str) -> int:
    return (await client.get("/auth/me", headers=bearer(access_token))).status_code


async def delivered_events(app: FastAPI, event_type: str, seconds: float = 10.0) -> list[Any]:
    """CloudEvents of one type that the relay has delivered: from the in-process
    publisher in embedded mode, from the topic on the real Kafka otherwise."""
    container = app.state.container
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (await container.backends.outbox.backlog())[0] == 0:
            break
        await asyncio.sleep(0.05)
    topic = container.settings.kafka_topic_prefix + event_type
    publisher = container.backends.publisher
    if isinstance(publisher, MemoryPublisher):
        values = [m.value for m in publisher.messages if m.topic == topic]
    else:
        records = await read_topic(container.settings.kafka_bootstrap, topic, seconds)
        values = [r.value for r in records]
    return [json.loads(value) for value in values]

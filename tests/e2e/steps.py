"""Steps the browser tests share."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from playwright.async_api import Page
from pymongo import AsyncMongoClient

from tests.support.api import PASSWORD, register
from tests.support.servers import Servers


async def register_through_api(url: str, email: str, **extra: str) -> str:
    async with httpx.AsyncClient(base_url=url) as client:
        response = await register(client, email, **extra)
    assert response.status_code == 201
    user_id: str = response.json()["id"]
    return user_id


async def wait_for_empty_outbox(servers: Servers, database: str, user_id: str) -> None:
    """Until the relay has delivered the user's events. On FerretDB a login written while
    the relay pops the registration event can be lost, session and all; waiting keeps
    these tests about the page."""
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongo_url)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            doc = await mongo[database]["users"].find_one({"_id": user_id}, {"outbox": 1})
            if doc is not None and not doc.get("outbox"):
                return
            await asyncio.sleep(0.05)
        raise AssertionError("the registration event was not delivered within 15 s")
    finally:
        await mongo.close()


async def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    await page.fill("#login-email", email)
    await page.fill("#login-password", password)
    await page.press("#login-password", "Enter")

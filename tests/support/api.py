"""Small helpers for driving the API in tests."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

PASSWORD = "correct horse battery staple"


def unique_email(tag: str = "user") -> str:
    return f"{tag}.{uuid.uuid4().hex[:10]}@example.com"


async def register(
    client: httpx.AsyncClient, email: str | None = None, password: str = PASSWORD, **extra: Any
) -> httpx.Response:
    body = {"email": email or unique_email(), "password": password, **extra}
    return await client.post("/auth/register", json=body)


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/auth/login", json={"email": email, "password": password})


async def registered_token(client: httpx.AsyncClient) -> tuple[str, str]:
    """A new user's email and a fresh access token."""
    email = unique_email()
    assert (await register(client, email)).status_code == 201
    response = await login(client, email)
    assert response.status_code == 200, response.text
    return email, response.json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert {"type", "title", "detail"} <= body.keys()
    return body

"""Guessable passwords and lookalike emails, over HTTP, against both backends."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest

from auth_api.app import create_app
from auth_api.settings import Settings
from tests.conftest import running
from tests.support.api import PASSWORD, assert_problem, login, register, unique_email
from tests.support.lookalikes import CYRILLIC_A, CYRILLIC_COP, fullwidth


@pytest.mark.parametrize("password", ["123456789012", "qwertyuiop123"])
async def test_guessable_passwords_are_refused_saying_why_and_how(
    api: httpx.AsyncClient, password: str
) -> None:
    email = unique_email()
    body = assert_problem(await register(api, email, password), 422, "WEAK_PASSWORD")
    assert {error["field"] for error in body["errors"]} == {"password"}
    why, *how = [error["message"] for error in body["errors"]]
    assert why.startswith("This password is too easy to guess (strength 1 of 4; 3 is needed).")
    assert "common" in why  # zxcvbn's warning
    assert how == ["Add another word or two. Uncommon words are better."]
    assert (await login(api, email, password)).status_code == 401


async def test_a_password_made_of_the_users_own_name_is_refused(api: httpx.AsyncClient) -> None:
    guessable_for_carol = "Carol Jones 84"
    carol = await register(api, unique_email("cj"), guessable_for_carol, display_name="Carol Jones")
    assert_problem(carol, 422, "WEAK_PASSWORD")
    someone_else = await register(api, unique_email(), guessable_for_carol, display_name="Dee")
    assert someone_else.status_code == 201, someone_else.text


async def test_guessability_refusals_count_against_the_registration_limit(
    api_settings: Callable[..., Settings],
) -> None:
    """The estimate costs CPU, so reaching it counts; the free rules before it do not."""
    async with running(create_app(api_settings(register_ip_limit=2))) as api:
        for _ in range(3):
            assert_problem(await register(api, password="short"), 422, "WEAK_PASSWORD")
        for _ in range(2):
            assert_problem(await register(api, password="qwertyuiop123"), 422, "WEAK_PASSWORD")
        assert_problem(await register(api), 429, "RATE_LIMITED")


async def test_a_fullwidth_lookalike_is_the_same_account(api: httpx.AsyncClient) -> None:
    local = f"admin.{uuid.uuid4().hex[:8]}"
    assert (await register(api, f"{local}@example.com")).status_code == 201
    lookalike = f"{fullwidth(local)}@example.com"
    assert_problem(await register(api, lookalike), 409, "EMAIL_ALREADY_REGISTERED")
    assert (await login(api, lookalike)).status_code == 200
    assert (await login(api, local + fullwidth("@example.com"))).status_code == 200


async def test_an_address_mixing_scripts_in_a_label_is_refused(api: httpx.AsyncClient) -> None:
    tag = uuid.uuid4().hex[:8]
    assert (await register(api, f"admin.{tag}@example.com")).status_code == 201
    spoof = f"{CYRILLIC_A}dmin.{tag}@example.com"
    body = assert_problem(await register(api, spoof), 422, "VALIDATION_FAILED")
    assert body["errors"][0]["field"] == "email"
    assert "mixes letters of different scripts (Cyrillic and Latin)" in body["detail"]
    assert (await login(api, spoof, PASSWORD)).status_code == 401


async def test_a_label_wholly_in_another_script_is_a_distinct_account(
    api: httpx.AsyncClient,
) -> None:
    """Cyrillic "cop" (U+0441 U+043E U+0440) looks like Latin "cop", but a label in one
    script is how its speakers write; whole-script lookalikes are distinct accounts."""
    tag = uuid.uuid4().hex[:8]
    assert (await register(api, f"cop.{tag}@example.com")).status_code == 201
    response = await register(api, f"{CYRILLIC_COP}.{tag}@example.com")
    assert response.status_code == 201, response.text
    assert response.json()["email"] == f"{CYRILLIC_COP}.{tag}@example.com"

"""Fixtures for the service unit tests: a manual clock and the services built on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from auth_api.passwords.hasher import PasswordHasher
from tests.support.clock import ManualClock
from tests.support.services import ServiceSet, build_services, fast_hasher


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def cheap_hasher() -> Iterator[PasswordHasher]:
    hasher = fast_hasher()
    yield hasher
    hasher.close()


@pytest.fixture
def services(clock: ManualClock, cheap_hasher: PasswordHasher) -> ServiceSet:
    return build_services(clock, cheap_hasher)

"""A refresh whose compare-and-set keeps losing gives up after a bounded number of
decisions, with the 503 of write contention, instead of looping for as long as it loses."""

from __future__ import annotations

import pytest

from auth_api.errors import WriteContention
from auth_api.model.session import Session
from auth_api.store.ports import GUARDED_WRITE_ATTEMPTS
from tests.sessions.revocation_world import world


async def test_a_refresh_that_always_loses_its_race_gives_up() -> None:
    w = world()
    user = await w.user()
    _, pair = await w.login(user)
    attempts = 0

    async def always_lost(user_id: str, expected_hash: str, session: Session) -> bool:
        nonlocal attempts
        attempts += 1
        return False  # as if another refresh won, yet left the same session stored

    w.store.replace_session = always_lost  # type: ignore[method-assign]
    with pytest.raises(WriteContention):
        await w.sessions.refresh(pair.refresh_token, "agent")
    assert attempts == GUARDED_WRITE_ATTEMPTS

from __future__ import annotations

import time

from auth_api.accounts.profile_cache import ProfileCache
from auth_api.model.clock import utc_now
from auth_api.model.user import User, new_user_id


def user() -> User:
    now = utc_now()
    return User(new_user_id(), "a@example.com", "a@example.com", "a", "$argon2id$x", now, now)


def test_a_profile_is_served_until_it_expires() -> None:
    cache, someone = ProfileCache(ttl_seconds=0.2), user()
    cache.put(someone)
    assert cache.get(someone.id) is someone
    time.sleep(0.25)
    assert cache.get(someone.id) is None


def test_zero_ttl_never_caches() -> None:
    cache, someone = ProfileCache(ttl_seconds=0), user()
    cache.put(someone)
    assert cache.get(someone.id) is None


def test_the_cache_is_bounded() -> None:
    cache = ProfileCache(ttl_seconds=60, max_entries=2)
    users = [user() for _ in range(3)]
    for each in users:
        cache.put(each)
    assert cache.get(users[0].id) is None
    assert cache.get(users[2].id) is users[2]

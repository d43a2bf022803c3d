"""Sessions are read through the cache (portal/tenants/sessions.py); the database is the record.
A logout must end the session in the cache too, even right after a Redis error made the cache back
off (the security review of issue 14: the skipped delete left the session usable for minutes)."""

import pytest
from django.conf import settings
from django.core.cache import cache
from redis.exceptions import ConnectionError as RedisConnectionError

from portal.tenants.sessions import SESSION_CACHE_SECONDS, SessionStore
from tests.portal.helpers import post

pytestmark = pytest.mark.django_db


def cached_copy(session_key: str):
    return cache.get(SessionStore.cache_key_prefix + session_key)


def test_a_logout_during_the_caches_backoff_still_ends_the_session_in_the_cache(login):
    client = login("user16")
    assert client.get("/services/").status_code == 200
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert cached_copy(key) is not None, "pages read the session from the cache"

    cache._outage.failed(RedisConnectionError("a blip"), by="test")  # the next few seconds: skipped
    try:
        assert cache._outage.skipping()
        assert post(client, "/logout/").status_code in (200, 302)
    finally:
        cache._outage._retry_at = 0.0  # the back-off over: the next tests use the cache again
    assert cached_copy(key) is None, "the ended session is gone from the cache as well"

    thief = login("user16")
    thief.cookies[settings.SESSION_COOKIE_NAME] = key
    assert thief.get("/services/").status_code == 302, "the old cookie leads to the login page"


def test_a_cached_session_lives_at_most_a_minute(login):
    client = login("user16")
    client.get("/services/")
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    ttl = cache._cache.get_client().ttl(cache.make_and_validate_key(SessionStore.cache_key_prefix + key))
    assert 0 < ttl <= SESSION_CACHE_SECONDS == 60

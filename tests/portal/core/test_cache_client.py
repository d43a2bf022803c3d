"""The cache's Redis client: one per connection pool, built once, not once per call (a page makes
several cache calls, and building a ``redis.Redis`` cost about as much as a hit on the loopback)."""

from django.core.cache import cache


def test_one_redis_client_serves_every_call_of_the_cache():
    client = cache._cache.get_client()
    assert cache._cache.get_client(write=True) is client
    cache.set("cache-client-test", "kept", 30)
    assert cache.get("cache-client-test") == "kept"
    assert cache._cache.get_client() is client
    cache.delete("cache-client-test")

"""The portal's cache: Django's Redis backend, where Redis being down or hung is a cache miss.

Everything the portal keeps in the cache can be read again (from the database, the mirror or IES)
or only saves work (throttles, "a refresh was asked for"): no page may fail because Redis does not
answer. Each operation that meets a Redis error answers as if the key were absent and the write had
not happened; after it, the cache leaves Redis alone for a short back-off (`portal.core.outage`), so
that a page making many cache calls pays one socket timeout, not one per call.

What a call answers while Redis is unavailable:
- get → the default; get_many → {}; has_key, touch, delete → False;
- set, delete_many, clear → nothing happens; set_many → every key (all failed, as Django's API says);
- add → False ("not added"): its callers use it as "first one wins" (throttles, one refresh at a time)
  and a process that cannot tell must not start the work, or every request would;
- incr, decr → ValueError, as for a missing key.

Django's own backend rather than django-redis's IGNORE_EXCEPTIONS: the same serialisation and key
layout as before (no cold cache at deployment, the test suite's key scans unchanged), no new
dependency, and IGNORE_EXCEPTIONS has no back-off (a hung Redis would cost its timeout per call).
"""

import re
from collections.abc import Callable, Iterable
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from portal.core.outage import outage_of

# Refused, reset, timed out, or Redis refusing to serve (OOM, READONLY after a failover, MISCONF).
CACHE_ERRORS = (RedisConnectionError, RedisTimeoutError, ResponseError, OSError)


class ReusedClientRedisCacheClient(RedisCacheClient):
    """Django's client, but one ``redis.Redis`` per connection pool instead of a new one per call:
    building one costs about as much as a cache hit on the loopback, and a page makes several calls.
    A ``redis.Redis`` over a pool is safe to share between threads."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # Django's own private helpers, which its type stubs leave out (hence the ignores).
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class ResilientRedisCache(RedisCache):
    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient
        # Django writes to the first server (the primary) and reads from any: one outage for all.
        primary = re.split("[;,]", server)[0] if isinstance(server, str) else server[0]
        self._outage = outage_of(primary)

    def _call[T](self, fallback: T, operation: Callable[..., T], *args: Any) -> T:
        if self._outage.skipping():
            return fallback
        try:
            result = operation(*args)
        except CACHE_ERRORS as error:
            self._outage.failed(error, by="cache")
            return fallback
        self._outage.answered()
        return result

    def eval_script(self, script: str, *, keys: list[str], args: list[Any]) -> Any:
        """Run a Lua script on the primary (atomic for every process); None when Redis fails."""
        def run() -> Any:
            client = self._cache.get_client(write=True)
            return client.eval(script, len(keys), *[self.make_key(k) for k in keys], *args)
        return self._call(None, run)

    def add(self, key: Any, value: Any, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._call(False, super().add, key, value, timeout, version)

    def get(self, key: Any, default: Any | None = None, version: int | None = None) -> Any:
        return self._call(default, super().get, key, default, version)

    def set(self, key: Any, value: Any, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        self._call(None, super().set, key, value, timeout, version)

    def touch(self, key: Any, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._call(False, super().touch, key, timeout, version)

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self._call(False, super().delete, key, version)

    def delete_despite_backoff(self, key: Any, version: int | None = None) -> bool:
        """A delete that must not be skipped while the cache backs off after an error (a logout's
        session): tried even then. False when Redis did not take it."""
        try:
            deleted = super().delete(key, version)
        except CACHE_ERRORS as error:
            self._outage.failed(error, by="cache")
            return False
        self._outage.answered()
        return deleted

    def get_many(self, keys: Iterable[Any], version: int | None = None) -> dict[Any, Any]:
        return self._call({}, super().get_many, keys, version)

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._call(False, super().has_key, key, version)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        if self._outage.skipping():
            raise ValueError(f"Key '{key}' not found (the cache is unavailable)")
        try:
            value = super().incr(key, delta, version)
        except CACHE_ERRORS as error:
            self._outage.failed(error, by="cache")
            raise ValueError(f"Key '{key}' not found (the cache is unavailable)") from error
        self._outage.answered()
        return value

    def set_many(self, data: dict[Any, Any], timeout: float | None = DEFAULT_TIMEOUT,
                 version: int | None = None) -> list[Any]:
        return self._call(list(data), super().set_many, data, timeout, version)

    def delete_many(self, keys: Iterable[Any], version: int | None = None) -> None:
        self._call(None, super().delete_many, keys, version)

    def clear(self) -> None:
        self._call(None, super().clear)

"""Sessions kept in the database and read through the cache (SESSION_ENGINE).

Django's `cached_db` engine: every page reads its session from Redis instead of the database (one
SQL query less per page, issue 14), while the database stays the record. So wiping Redis logs
nobody out (the next request reads the database and fills the cache again), and with Redis down
or hung every read is a miss (portal.core.cache) and people stay logged in from the database.

One difference from Django's engine: the cached copy lives at most SESSION_CACHE_SECONDS, not the
session's whole age (two weeks). A logout, or a login's new session key, deletes the cached copy;
if Redis is unreachable at that moment the delete is lost, and a Redis that comes back with its
data would serve the ended session again until the copy expires: minutes, not weeks.
"""

from typing import Any

from django.contrib.sessions.backends import cached_db

SESSION_CACHE_SECONDS = 300


class _CappedTimeouts:
    """The session cache, with every entry's lifetime capped at SESSION_CACHE_SECONDS."""

    def __init__(self, cache: Any) -> None:
        self._cache = cache

    def set(self, key: str, value: Any, timeout: float | None = None) -> None:
        self._cache.set(key, value, _capped(timeout))

    async def aset(self, key: str, value: Any, timeout: float | None = None) -> None:
        await self._cache.aset(key, value, _capped(timeout))

    def __contains__(self, key: str) -> bool:
        return key in self._cache

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cache, name)


def _capped(timeout: float | None) -> float:
    return SESSION_CACHE_SECONDS if timeout is None else min(timeout, SESSION_CACHE_SECONDS)


class SessionStore(cached_db.SessionStore):
    _cache: Any  # Django's cache, then the capping wrapper of it

    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self._cache = _CappedTimeouts(self._cache)

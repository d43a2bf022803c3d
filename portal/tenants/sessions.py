"""Sessions kept in the database and read through the cache (SESSION_ENGINE).

Django's `cached_db` engine: every page reads its session from Redis instead of the database (one
SQL query less per page, issue 14), while the database stays the record. So wiping Redis logs
nobody out (the next request reads the database and fills the cache again), and with Redis down
or hung every read is a miss (portal.core.cache) and people stay logged in from the database.

Two differences from Django's engine. The cached copy lives at most SESSION_CACHE_SECONDS (a
minute), not the session's whole age (two weeks). And a logout's (or a login's) delete of the cached
copy is tried even while the cache backs off after an error (`delete_despite_backoff`), so that an
ended session is not served from the cache once Redis answers again. What is still possible, for at
most that minute: a delete or a save Redis did not take (it was unreachable), or a page's refill of
the cache racing the logout that ended the session; the database row, the record, is right.
"""

from typing import Any

from django.contrib.sessions.backends import cached_db

SESSION_CACHE_SECONDS = 60


class _CappedTimeouts:
    """The session cache, with every entry's lifetime capped at SESSION_CACHE_SECONDS."""

    def __init__(self, cache: Any) -> None:
        self._cache = cache

    def set(self, key: str, value: Any, timeout: float | None = None) -> None:
        self._cache.set(key, value, _capped(timeout))

    async def aset(self, key: str, value: Any, timeout: float | None = None) -> None:
        await self._cache.aset(key, value, _capped(timeout))

    def delete(self, key: str) -> bool:
        delete_now = getattr(self._cache, "delete_despite_backoff", None)
        return delete_now(key) if delete_now else self._cache.delete(key)

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

"""A circuit breaker per IES endpoint: stop asking an IES that does not answer, ask again later.

States. *Closed*: calls go through; consecutive failures are counted. *Open*: after
``failure_threshold`` consecutive failures every call fails at once with
:class:`~ies_client.errors.IESCircuitOpen`, without touching the network. *Half-open*: once
``reset_timeout`` seconds have passed since it opened, exactly one caller (one thread of one process:
a Redis ``SET NX`` decides) sends a trial request; the others keep failing fast. The trial's success
closes the breaker, its failure opens it again for another ``reset_timeout``.

What counts. A failure means "IES is unwell": a timeout, a refused or dropped connection, a 5xx
(except OPEN-O's 500 that means "busy", an answer) and 429. A 4xx (400, 401, 404) is IES answering
and counts as a success: one tenant's expired token must not cut off the others.

The key. ``"<METHOD> <base URL> <path template>"``, e.g. ``GET https://ies:17100/rest
/servicemanager/v1/services/{id}``: ids are replaced (one breaker for every service's detail, not
one per service, so a hang is found after N calls whichever services they asked) and the tenant is
left out (IES hangs for every tenant at once, and a token's 401 does not count anyway). Per
endpoint rather than per host because IES's parts fail apart: the traffic statistics
(``cloudvpnwatch``) can hang while the service manager answers, and the portal should keep using
what still works. The method is part of it: a write endpoint that hangs does not close reads.

Sharing. The state lives in a :class:`BreakerStore`: :class:`MemoryStore` (one process) or
:class:`RedisStore` (every web and worker process of the portal sees one state, so one process's
discovery that IES hangs spares the others their own timeouts). A Redis that fails makes the Redis
store fall back to its in-memory one for a few seconds, then try Redis again: the breaker never
raises because of its own store.

Written here rather than taken from pybreaker (1.4.1, with a Redis storage): pybreaker's half-open
state lets through every caller that arrives during the trial in other processes, its Redis storage
raises (or answers a fixed state) when Redis is down, and it counts failures from raised exceptions
while this client must classify status codes inside its retry loop. What is needed is small.

Plain Python: no Django, nothing of the portal. The portal picks the store (``configure``).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from ies_client.errors import IESCircuitOpen

__all__ = [
    "BreakerConfig",
    "BreakerState",
    "BreakerStore",
    "Circuit",
    "Ticket",
    "MemoryStore",
    "RedisStore",
    "configure",
    "current_store",
    "endpoint_template",
    "reset",
    "snapshot",
]

logger = logging.getLogger("ies_client.breaker")

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
DEFAULT_FAILURES = 5
DEFAULT_RESET_S = 30.0
RECORD_TTL_S = 86400  # a breaker nobody used for a day is forgotten (closed)


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    """``failure_threshold`` consecutive failures open it; ``reset_timeout`` seconds later one trial
    may go; a trial that neither succeeds nor fails within ``trial_timeout`` (its process died)
    lets another caller try."""

    failure_threshold: int = DEFAULT_FAILURES
    reset_timeout: float = DEFAULT_RESET_S
    trial_timeout: float = 60.0


@dataclass(frozen=True, slots=True)
class BreakerState:
    """One breaker as :func:`snapshot` reads it (for /readyz and metrics: no secrets in it)."""

    name: str  # the key: "GET https://ies:17100/rest /servicemanager/v1/services"
    method: str
    base_url: str
    endpoint: str  # the path template
    state: str  # "closed", "open" or "half_open"
    failures: int  # consecutive
    opened_at: float | None  # Unix time


@dataclass(frozen=True, slots=True)
class _Record:
    failures: int = 0
    opened_at: float | None = None


class BreakerStore(Protocol):
    """Where breakers keep their state. Every method is safe to call from many threads."""

    def read(self, name: str) -> _Record: ...

    def failure(self, name: str, threshold: int, now: float) -> _Record: ...

    def success(self, name: str) -> None: ...

    def take_trial(self, name: str, ttl: float) -> bool: ...

    def end_trial(self, name: str) -> None: ...

    def names(self) -> list[str]: ...

    def clear(self) -> None: ...


class MemoryStore:
    """One process's breakers (the client's default, and the Redis store's fallback)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, _Record] = {}
        self._trials: dict[str, float] = {}  # name -> trial expires at (monotonic)

    def read(self, name: str) -> _Record:
        with self._lock:
            return self._records.get(name, _Record())

    def failure(self, name: str, threshold: int, now: float) -> _Record:
        with self._lock:
            old = self._records.get(name, _Record())
            failures = old.failures + 1
            record = _Record(failures, now if failures >= threshold else old.opened_at)
            self._records[name] = record
            return record

    def success(self, name: str) -> None:
        with self._lock:
            if name in self._records:
                self._records[name] = _Record()

    def take_trial(self, name: str, ttl: float) -> bool:
        with self._lock:
            now = time.monotonic()
            if self._trials.get(name, 0.0) > now:
                return False
            self._trials[name] = now + ttl
            return True

    def end_trial(self, name: str) -> None:
        with self._lock:
            self._trials.pop(name, None)

    def names(self) -> list[str]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
            self._trials.clear()


class RedisStore:
    """Breakers shared by every process that uses the same Redis and ``prefix``.

    One hash per breaker (``f``: consecutive failures, ``o``: opened at) under ``<prefix>:<name>``,
    the names in the set ``<prefix>:names``, a trial's claim in ``<prefix>:<name>:trial`` (``SET NX
    PX``: one winner across processes). Redis errors never leave this class: it then serves from
    its :class:`MemoryStore` for ``retry_after`` seconds, and tries Redis again.
    """

    def __init__(self, url: str, *, prefix: str = "ies-breaker", timeout: float = 0.25,
                 retry_after: float = 5.0, client: Any = None) -> None:
        import redis  # only the Redis store needs it

        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self._redis = client if client is not None else redis.Redis.from_url(
            url, socket_connect_timeout=timeout, socket_timeout=timeout, retry_on_timeout=False)
        self.url = url
        self.prefix = prefix
        self.fallback = MemoryStore()
        self._retry_after = retry_after
        self._down_until = 0.0
        self._known: set[str] = set()  # names this process has added to the set already

    def __repr__(self) -> str:
        return f"<RedisStore prefix={self.prefix!r}>"

    # -- the fallback ---------------------------------------------------------------------------

    def _usable(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, exc: BaseException) -> None:
        if self._usable():
            logger.warning("IES circuit breaker: Redis failed (%s); keeping state in this process for %.0f s",
                           type(exc).__name__, self._retry_after)
        self._down_until = time.monotonic() + self._retry_after

    def _key(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    @staticmethod
    def _decode(raw: dict[Any, Any]) -> _Record:
        values = {(k.decode() if isinstance(k, bytes) else k): v for k, v in raw.items()}
        opened = values.get("o")
        return _Record(int(values.get("f") or 0), float(opened) if opened not in (None, b"", "") else None)

    # -- the store ------------------------------------------------------------------------------

    def read(self, name: str) -> _Record:
        if self._usable():
            try:
                return self._decode(self._redis.hgetall(self._key(name)))
            except self._errors as exc:
                self._failed(exc)
        return self.fallback.read(name)

    def failure(self, name: str, threshold: int, now: float) -> _Record:
        if self._usable():
            try:
                key = self._key(name)
                pipe = self._redis.pipeline(transaction=True)
                pipe.hincrby(key, "f", 1)
                pipe.expire(key, RECORD_TTL_S)
                pipe.sadd(self._key("names"), name)
                failures = int(pipe.execute()[0])
                if failures >= threshold:
                    self._redis.hset(key, "o", repr(now))
                return self._decode(self._redis.hgetall(key))
            except self._errors as exc:
                self._failed(exc)
        return self.fallback.failure(name, threshold, now)

    def success(self, name: str) -> None:
        self.fallback.success(name)
        if self._usable():
            try:
                pipe = self._redis.pipeline(transaction=True)
                pipe.delete(self._key(name))
                if name not in self._known:
                    pipe.sadd(self._key("names"), name)
                pipe.execute()
                self._known.add(name)
            except self._errors as exc:
                self._failed(exc)

    def take_trial(self, name: str, ttl: float) -> bool:
        if self._usable():
            try:
                return bool(self._redis.set(self._key(name) + ":trial", "1", nx=True, px=max(1, int(ttl * 1000))))
            except self._errors as exc:
                self._failed(exc)
        return self.fallback.take_trial(name, ttl)

    def end_trial(self, name: str) -> None:
        self.fallback.end_trial(name)
        if self._usable():
            try:
                self._redis.delete(self._key(name) + ":trial")
            except self._errors as exc:
                self._failed(exc)

    def names(self) -> list[str]:
        if self._usable():
            try:
                return sorted(n.decode() if isinstance(n, bytes) else str(n)
                              for n in self._redis.smembers(self._key("names")))
            except self._errors as exc:
                self._failed(exc)
        return self.fallback.names()

    def clear(self) -> None:
        """Forget every breaker of this prefix (tests; an operator after fixing IES)."""
        self.fallback.clear()
        self._known.clear()
        try:
            keys = list(self._redis.scan_iter(match=f"{self.prefix}:*", count=1000))
            if keys:
                self._redis.delete(*keys)
        except self._errors as exc:
            self._failed(exc)


# -- the process's store --------------------------------------------------------------------------

_store: BreakerStore = MemoryStore()
_reset_timeout = DEFAULT_RESET_S  # what snapshot() reads "open" against


def configure(store: BreakerStore, *, reset_timeout: float | None = None) -> None:
    """Use ``store`` for every breaker of this process from now on (the portal: a RedisStore), and
    tell :func:`snapshot` the cool-down the clients use."""
    global _store, _reset_timeout
    _store = store
    if reset_timeout is not None:
        _reset_timeout = reset_timeout


def current_store() -> BreakerStore:
    return _store


def reset() -> None:
    """Close every breaker (tests between cases; after IES was repaired)."""
    _store.clear()


def _state_of(record: _Record, reset_timeout: float, now: float) -> str:
    if record.opened_at is None:
        return CLOSED
    return OPEN if now - record.opened_at < reset_timeout else HALF_OPEN


def snapshot(reset_timeout: float | None = None) -> list[BreakerState]:
    """Every breaker the store knows (each one that ever failed or answered), read now: one Redis
    round trip per breaker."""
    reset_timeout = _reset_timeout if reset_timeout is None else reset_timeout
    now = time.time()
    states = []
    store = _store
    for name in store.names():
        record = store.read(name)
        method, _, rest = name.partition(" ")
        base_url, _, endpoint = rest.partition(" ")
        states.append(BreakerState(name=name, method=method, base_url=base_url, endpoint=endpoint,
                                   state=_state_of(record, reset_timeout, now), failures=record.failures,
                                   opened_at=record.opened_at))
    return states


# -- keys ----------------------------------------------------------------------------------------


def endpoint_template(path: str) -> str:
    """``path`` without its query and with each segment that looks like an id (has a digit and is
    not a version such as ``v1``) replaced by ``{id}``. The client passes its own templates; this
    is the fallback for a path it did not name."""
    segments = path.partition("?")[0].split("/")
    out = []
    for segment in segments:
        looks_like_version = len(segment) <= 3 and segment[:1] == "v" and segment[1:].isdigit()
        out.append("{id}" if any(c.isdigit() for c in segment) and not looks_like_version else segment)
    return "/".join(out)


def _public_base(base_url: str) -> str:
    """The base URL without any user:password part (a key is shown on /readyz and in metrics)."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


# -- one breaker ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ticket:
    """What ``admit`` saw: whether this call is the half-open trial, and the failures counted then
    (a success after none writes nothing: the common case costs one read of the store)."""

    trial: bool
    failures: int


class Circuit:
    """The breaker of one endpoint, as one call sees it: ``admit`` before each attempt, then
    exactly one of ``failure``, ``success`` or ``release`` with the ticket ``admit`` gave."""

    def __init__(self, base_url: str, method: str, endpoint: str, config: BreakerConfig,
                 store: BreakerStore | None = None) -> None:
        self.name = f"{method} {_public_base(base_url)} {endpoint}"
        self.method = method
        self.endpoint = endpoint
        self.config = config
        self._store = store

    @property
    def store(self) -> BreakerStore:
        return self._store if self._store is not None else _store

    def _refuse(self, record: _Record, now: float) -> IESCircuitOpen:
        opened = record.opened_at or now
        retry_after = max(1.0, opened + self.config.reset_timeout - now)
        return IESCircuitOpen(retry_after=retry_after, method=self.method, path=self.endpoint)

    def admit(self) -> Ticket:
        """Let one attempt go, or raise :class:`IESCircuitOpen` (no request is sent then)."""
        record = self.store.read(self.name)
        now = time.time()
        state = _state_of(record, self.config.reset_timeout, now)
        if state == CLOSED:
            return Ticket(False, record.failures)
        if state == HALF_OPEN and self.store.take_trial(self.name, self.config.trial_timeout):
            logger.info("IES circuit %s half-open: sending one trial request", self.name)
            return Ticket(True, record.failures)
        raise self._refuse(record, now)

    def is_open(self) -> bool:
        """Not closed: a retry now would be refused (or would be a trial, which a retry must not be)."""
        return _state_of(self.store.read(self.name), self.config.reset_timeout, time.time()) != CLOSED

    def failure(self, ticket: Ticket) -> None:
        record = self.store.failure(self.name, self.config.failure_threshold, time.time())
        if ticket.trial:
            self.store.end_trial(self.name)
            logger.warning("IES circuit %s stays open: the trial request failed", self.name)
        elif record.failures == self.config.failure_threshold:
            logger.warning("IES circuit %s opened after %d consecutive failures", self.name, record.failures)

    def success(self, ticket: Ticket) -> None:
        if ticket.trial or ticket.failures:
            self.store.success(self.name)
        if ticket.trial:
            self.store.end_trial(self.name)
            logger.info("IES circuit %s closed: the trial request succeeded", self.name)

    def release(self, ticket: Ticket) -> None:
        """Neither success nor failure (a TLS error: ours, not IES's health): another may try."""
        if ticket.trial:
            self.store.end_trial(self.name)

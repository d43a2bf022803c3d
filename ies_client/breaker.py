"""A circuit breaker per IES endpoint: stop asking an IES that does not answer, ask again later.

States. *Closed*: calls go through; consecutive failures are counted. *Open*: after
``failure_threshold`` consecutive failures every call fails at once with
:class:`~ies_client.errors.IESCircuitOpen`, without touching the network. *Half-open*: once
``reset_timeout`` seconds have passed since it opened, exactly one caller (one thread of one process:
a Redis ``SET NX`` decides) sends a trial request; the others keep failing fast. The trial's success
closes the breaker, its failure opens it again for another ``reset_timeout``; a trial whose holder
died is given up after ``trial_timeout`` and the next caller tries. :func:`snapshot` reports
"half_open" only while a trial is out: past its cool-down with none out, a breaker reads "closed"
(nobody is refused; the next call is the trial), and a breaker untouched for ``record_ttl`` (a few
cool-downs) is forgotten.

Clocks. Whether a breaker is open is never decided by comparing wall-clock times across hosts: in
Redis an ``open`` key with a ``PX`` expiry of the cool-down exists while it is open (Redis's clock
ends it, for every process alike); the in-memory store uses the monotonic clock.

What counts. A failure means "IES is unwell": a timeout, a refused or dropped connection, a 5xx
(except OPEN-O's 500 that means "busy", an answer) and 429. A 4xx (400, 401, 404) is IES answering
and counts as a success: one tenant's expired token must not cut off the others. The read timeouts
of callers with a short timeout of their own (the portal's pages) count apart, toward the
endpoint's page breaker (scope ``pages``) that only those callers obey: see :class:`Circuits`.

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
raises because of its own store. What the fallback learnt is dropped once Redis answers again.

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
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

from ies_client.errors import IESCircuitOpen

__all__ = [
    "BreakerConfig",
    "BreakerState",
    "BreakerStore",
    "Circuit",
    "Circuits",
    "PAGES",
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
PAGES = "pages"  # the scope of the breakers that only slow page reads open (see Circuits)
DEFAULT_FAILURES = 5
DEFAULT_RESET_S = 30.0
DEFAULT_TRIAL_S = 60.0
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    """``failure_threshold`` consecutive failures open it; ``reset_timeout`` seconds later one trial
    may go; a trial that neither succeeds nor fails within ``trial_timeout`` (its process died)
    lets another caller try."""

    failure_threshold: int = DEFAULT_FAILURES
    reset_timeout: float = DEFAULT_RESET_S
    trial_timeout: float = DEFAULT_TRIAL_S

    @property
    def record_ttl(self) -> float:
        """How long a breaker nobody touches is remembered: a few cool-downs, and long enough for a
        trial to end. Then it is forgotten (closed), and /readyz and the metrics stop showing it."""
        return max(4 * self.reset_timeout, 2 * self.trial_timeout)


@dataclass(frozen=True, slots=True)
class BreakerState:
    """One breaker as :func:`snapshot` reads it (for /readyz and metrics: no secrets in it)."""

    name: str  # the key: "GET https://ies:17100/rest /servicemanager/v1/services"
    method: str
    base_url: str
    endpoint: str  # the path template
    state: str  # "closed", "open" or "half_open" (see snapshot)
    failures: int  # consecutive
    opened_at: float | None  # Unix time; None when closed
    scope: str = ""  # "": the endpoint's breaker; PAGES: the one only slow page reads open


@dataclass(frozen=True, slots=True)
class _Record:
    """What a store knows of one breaker. ``open_for``: seconds left of the cool-down (0: not
    refusing); ``tripped``: it opened and no success has closed it since (after the cool-down the
    next call is a trial); ``trial``: a trial claim is held now."""

    failures: int = 0
    opened_at: float | None = None  # Unix time, for display only: decisions use open_for
    open_for: float = 0.0
    tripped: bool = False
    trial: bool = False


@dataclass(frozen=True, slots=True)
class _Verdict:
    failures: int
    opened: bool  # this failure opened it (crossed the threshold, or a trial failed)


class BreakerStore(Protocol):
    """Where breakers keep their state. Every method is safe to call from many threads."""

    def read(self, name: str) -> _Record: ...

    def failure(self, name: str, config: BreakerConfig, trial: bool) -> _Verdict: ...

    def success(self, name: str, config: BreakerConfig) -> None: ...

    def take_trial(self, name: str, ttl: float) -> bool: ...

    def end_trial(self, name: str) -> None: ...

    def names(self) -> list[str]: ...

    def clear(self) -> None: ...


@dataclass(slots=True)
class _MemoryRecord:
    failures: int = 0
    opened_at: float | None = None  # Unix time (display)
    open_until: float = 0.0  # monotonic
    tripped: bool = False
    expires: float = 0.0  # monotonic


class MemoryStore:
    """One process's breakers (the client's default, and the Redis store's fallback). Its clock is
    the monotonic one: a wall clock set back must not hold a breaker open."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, _MemoryRecord] = {}
        self._trials: dict[str, float] = {}  # name -> trial expires at (monotonic)

    def _live(self, name: str, now: float) -> _MemoryRecord | None:
        record = self._records.get(name)
        if record is not None and record.expires <= now:
            del self._records[name]
            return None
        return record

    def read(self, name: str) -> _Record:
        with self._lock:
            now = time.monotonic()
            record = self._live(name, now)
            trial = self._trials.get(name, 0.0) > now
            if record is None:
                return _Record(trial=trial)
            return _Record(record.failures, record.opened_at, max(0.0, record.open_until - now), record.tripped,
                           trial)

    def failure(self, name: str, config: BreakerConfig, trial: bool) -> _Verdict:
        with self._lock:
            now = time.monotonic()
            record = self._live(name, now) or _MemoryRecord()
            record.failures += 1
            opened = (record.failures >= config.failure_threshold and not record.tripped) or (
                trial and record.open_until <= now)
            if opened:
                record.tripped = True
                record.opened_at = time.time()
                record.open_until = now + config.reset_timeout
            record.expires = now + config.record_ttl
            self._records[name] = record
            return _Verdict(record.failures, opened)

    def success(self, name: str, config: BreakerConfig) -> None:
        with self._lock:
            self._records[name] = _MemoryRecord(expires=time.monotonic() + config.record_ttl)

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
            now = time.monotonic()
            return sorted(name for name in list(self._records) if self._live(name, now) is not None)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
            self._trials.clear()


# Redis's own clock decides (TIME, and PX expiries), so that processes on hosts whose clocks differ
# agree on whether a breaker is open. KEYS: record hash, open key, index; ARGV: threshold, cool-down
# ms, record lifetime ms, "1" for a trial, name. Atomic: a success cannot slip between the count and
# the opening, and a late failure of a call sent before it opened does not lengthen the cool-down.
_FAILURE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local failures = redis.call('HINCRBY', KEYS[1], 'f', 1)
local tripped = redis.call('HEXISTS', KEYS[1], 'o') == 1
local opened = 0
if (failures >= tonumber(ARGV[1]) and not tripped)
        or (ARGV[4] == '1' and redis.call('EXISTS', KEYS[2]) == 0) then
    redis.call('HSET', KEYS[1], 'o', tostring(now))
    redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
    opened = 1
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), ARGV[5])
return {failures, opened}
"""
_SUCCESS_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[1]), ARGV[2])
return 1
"""
# Only the claim's own holder ends it: a late end must not cancel another process's newer trial.
_END_TRIAL_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_NAMES_LUA = """
local t = redis.call('TIME')
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
return redis.call('ZRANGE', KEYS[1], 0, -1)
"""


class _Down:
    """What :meth:`RedisStore._run` returns when Redis did not answer."""


_DOWN = _Down()


class RedisStore:
    """Breakers shared by every process that uses the same Redis and ``prefix``.

    Under ``<prefix>:<name>``: a hash (``f``: consecutive failures, ``o``: opened at, ms of Redis's
    clock, present while tripped) that lives ``record_ttl`` after its last failure; ``…:open``,
    whose existence means open (``PX`` the cool-down: Redis's clock ends it, for every process
    alike); ``…:trial``, a trial's claim (``SET NX PX``: one winner across processes). The names
    are in the sorted set ``<prefix>:index``, scored by when their record expires.

    Redis errors never leave this class: it then serves from its :class:`MemoryStore` for
    ``retry_after`` seconds, and tries Redis again. When Redis answers again the fallback is
    emptied (what it learnt during the outage is stale by then), and trials that ended meanwhile
    release their Redis claims.
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
        self._lock = threading.Lock()
        self._fell_back = False  # the fallback has served since Redis last answered
        self._claims: dict[str, str] = {}  # name -> token of the trial this process holds in Redis
        self._unreleased: dict[str, str] = {}  # trials that ended while Redis was down
        self._failure = self._redis.register_script(_FAILURE_LUA)
        self._success = self._redis.register_script(_SUCCESS_LUA)
        self._end_trial = self._redis.register_script(_END_TRIAL_LUA)
        self._names = self._redis.register_script(_NAMES_LUA)

    def __repr__(self) -> str:
        return f"<RedisStore prefix={self.prefix!r}>"

    # -- Redis, or the fallback ------------------------------------------------------------------

    def _run(self, op: Callable[[], _T]) -> _T | _Down:
        """``op()``'s result, or ``_DOWN`` (Redis failed now or recently: use the fallback)."""
        if time.monotonic() < self._down_until:
            self._fell_back = True
            return _DOWN
        try:
            result = op()
        except self._errors as exc:
            self._failed(exc)
            return _DOWN
        if self._fell_back:
            self._recovered()
        return result

    def _failed(self, exc: BaseException) -> None:
        if time.monotonic() >= self._down_until:
            logger.warning("IES circuit breaker: Redis failed (%s); keeping state in this process for %.0f s",
                           type(exc).__name__, self._retry_after)
        self._down_until = time.monotonic() + self._retry_after
        self._fell_back = True

    def _recovered(self) -> None:
        with self._lock:
            if not self._fell_back:
                return
            self._fell_back = False
            unreleased, self._unreleased = self._unreleased, {}
        self.fallback.clear()
        for name, token in unreleased.items():
            try:
                self._end_trial(keys=[self._trial_key(name)], args=[token])
            except self._errors as exc:
                self._failed(exc)
                with self._lock:
                    self._unreleased.setdefault(name, token)
                return

    def _key(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    def _trial_key(self, name: str) -> str:
        return f"{self.prefix}:{name}:trial"

    @staticmethod
    def _text(value: Any) -> str:
        return value.decode() if isinstance(value, bytes) else str(value)

    # -- the store ------------------------------------------------------------------------------

    def read(self, name: str) -> _Record:
        def op() -> _Record:
            key = self._key(name)
            pipe = self._redis.pipeline(transaction=False)
            pipe.hgetall(key)
            pipe.pttl(key + ":open")
            pipe.exists(self._trial_key(name))
            raw, open_ms, trial = pipe.execute()
            values = {self._text(k): self._text(v) for k, v in raw.items()}
            opened = values.get("o")
            return _Record(int(values.get("f") or 0), int(opened) / 1000 if opened else None,
                           max(0, int(open_ms)) / 1000, bool(opened), bool(trial))

        result = self._run(op)
        return self.fallback.read(name) if isinstance(result, _Down) else result

    def failure(self, name: str, config: BreakerConfig, trial: bool) -> _Verdict:
        key = self._key(name)
        result = self._run(lambda: self._failure(
            keys=[key, key + ":open", self._key("index")],
            args=[config.failure_threshold, max(1, int(config.reset_timeout * 1000)),
                  max(1, int(config.record_ttl * 1000)), "1" if trial else "0", name]))
        if isinstance(result, _Down):
            return self.fallback.failure(name, config, trial)
        return _Verdict(int(result[0]), bool(int(result[1])))

    def success(self, name: str, config: BreakerConfig) -> None:
        self.fallback.success(name, config)
        key = self._key(name)
        self._run(lambda: self._success(keys=[key, key + ":open", self._key("index")],
                                        args=[max(1, int(config.record_ttl * 1000)), name]))

    def take_trial(self, name: str, ttl: float) -> bool:
        token = uuid.uuid4().hex
        result = self._run(lambda: self._redis.set(self._trial_key(name), token, nx=True,
                                                   px=max(1, int(ttl * 1000))))
        if isinstance(result, _Down):
            return self.fallback.take_trial(name, ttl)
        if result:
            with self._lock:
                self._claims[name] = token
        return bool(result)

    def end_trial(self, name: str) -> None:
        """Ends the trial in both places: the claim may have been taken in Redis before it failed."""
        self.fallback.end_trial(name)
        with self._lock:
            token = self._claims.pop(name, None)
        if token is None:
            return
        result = self._run(lambda: self._end_trial(keys=[self._trial_key(name)], args=[token]))
        if isinstance(result, _Down):
            with self._lock:
                self._unreleased[name] = token

    def names(self) -> list[str]:
        result = self._run(lambda: self._names(keys=[self._key("index")]))
        if isinstance(result, _Down):
            return self.fallback.names()
        return sorted(self._text(n) for n in result)

    def clear(self) -> None:
        """Forget every breaker of this prefix (tests; an operator after fixing IES)."""
        self.fallback.clear()
        with self._lock:
            self._claims.clear()
            self._unreleased.clear()
        try:
            keys = list(self._redis.scan_iter(match=f"{self.prefix}:*", count=1000))
            if keys:
                self._redis.delete(*keys)
        except self._errors as exc:
            self._failed(exc)


# -- the process's store --------------------------------------------------------------------------

_store: BreakerStore = MemoryStore()


def configure(store: BreakerStore) -> None:
    """Use ``store`` for every breaker of this process from now on (the portal: a RedisStore)."""
    global _store
    _store = store


def current_store() -> BreakerStore:
    return _store


def reset() -> None:
    """Close every breaker (tests between cases; after IES was repaired)."""
    _store.clear()


def _state_of(record: _Record) -> str:
    """Open while the cool-down runs; half-open only while a trial is out. A breaker past its
    cool-down with no trial out reads as closed: nobody is being refused, the next call will be the
    trial. (Else one that nobody calls any more, a tenant moved off a dead IES, would read
    half-open, "degraded", until its record expired.)"""
    if record.open_for > 0:
        return OPEN
    if record.tripped and record.trial:
        return HALF_OPEN
    return CLOSED


def snapshot() -> list[BreakerState]:
    """Every breaker the store remembers (each one that failed or closed within its record's
    lifetime), read now: one Redis round trip per breaker."""
    states = []
    store = _store
    for name in store.names():
        record = store.read(name)
        method, base_url, endpoint, *scope = name.split(" ")
        state = _state_of(record)
        states.append(BreakerState(name=name, method=method, base_url=base_url, endpoint=endpoint, state=state,
                                   failures=record.failures, opened_at=None if state == CLOSED else record.opened_at,
                                   scope=" ".join(scope)))
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
                 store: BreakerStore | None = None, *, scope: str = "") -> None:
        self.name = f"{method} {_public_base(base_url)} {endpoint}" + (f" {scope}" if scope else "")
        self.method = method
        self.endpoint = endpoint
        self.config = config
        self._store = store

    @property
    def store(self) -> BreakerStore:
        return self._store if self._store is not None else _store

    def _refuse(self, retry_after: float) -> IESCircuitOpen:
        return IESCircuitOpen(retry_after=max(1.0, retry_after), method=self.method, path=self.endpoint)

    def admit(self) -> Ticket:
        """Let one attempt go, or raise :class:`IESCircuitOpen` (no request is sent then)."""
        record = self.store.read(self.name)
        if record.open_for > 0:
            raise self._refuse(record.open_for)
        if not record.tripped:
            return Ticket(False, record.failures)
        if self.store.take_trial(self.name, self.config.trial_timeout):
            logger.info("IES circuit %s half-open: sending one trial request", self.name)
            return Ticket(True, record.failures)
        raise self._refuse(1.0)  # another caller's trial is out: its answer decides soon

    def is_open(self) -> bool:
        """Not closed: a retry now would be refused (or would be a trial, which a retry must not be)."""
        record = self.store.read(self.name)
        return record.open_for > 0 or record.tripped

    def failure(self, ticket: Ticket) -> None:
        verdict = self.store.failure(self.name, self.config, ticket.trial)
        if ticket.trial:
            self.store.end_trial(self.name)
            logger.warning("IES circuit %s stays open: the trial request failed", self.name)
        elif verdict.opened:
            logger.warning("IES circuit %s opened after %d consecutive failures", self.name, verdict.failures)

    def success(self, ticket: Ticket) -> None:
        if ticket.trial or ticket.failures:
            self.store.success(self.name, self.config)
        if ticket.trial:
            self.store.end_trial(self.name)
            logger.info("IES circuit %s closed: the trial request succeeded", self.name)

    def release(self, ticket: Ticket) -> None:
        """Neither success nor failure (a TLS error: ours, not IES's health): another may try."""
        if ticket.trial:
            self.store.end_trial(self.name)


@dataclass(frozen=True, slots=True)
class Tickets:
    endpoint: Ticket
    pages: Ticket | None


class Circuits:
    """The breakers one call passes. Every call: its endpoint's, which every failure counts toward.
    A call with a short read timeout of its own (a page's, ``pages``): also the endpoint's page
    breaker, which only such calls' read timeouts count toward and only such calls obey. An IES
    that answers in 5 s is slow, not down: page reads stop waiting for it (their breaker opens),
    while the workers, whose longer timeout it meets, go on syncing and tracking operations."""

    def __init__(self, endpoint: Circuit, pages: Circuit | None = None) -> None:
        self.endpoint = endpoint
        self.pages = pages

    def admit(self) -> Tickets:
        ticket = self.endpoint.admit()
        if self.pages is None:
            return Tickets(ticket, None)
        try:
            return Tickets(ticket, self.pages.admit())
        except IESCircuitOpen:
            self.endpoint.release(ticket)
            raise

    def failure(self, tickets: Tickets, *, read_timeout: bool = False) -> None:
        """A read timeout of a page call is the page breaker's failure only; any other failure is
        the endpoint's (and no verdict on the page breaker)."""
        if self.pages is not None and tickets.pages is not None and read_timeout:
            self.endpoint.release(tickets.endpoint)
            self.pages.failure(tickets.pages)
            return
        self.endpoint.failure(tickets.endpoint)
        if self.pages is not None and tickets.pages is not None:
            self.pages.release(tickets.pages)

    def success(self, tickets: Tickets) -> None:
        self.endpoint.success(tickets.endpoint)
        if self.pages is not None and tickets.pages is not None:
            self.pages.success(tickets.pages)

    def release(self, tickets: Tickets) -> None:
        self.endpoint.release(tickets.endpoint)
        if self.pages is not None and tickets.pages is not None:
            self.pages.release(tickets.pages)

    def is_open(self) -> bool:
        return self.endpoint.is_open() or (self.pages is not None and self.pages.is_open())

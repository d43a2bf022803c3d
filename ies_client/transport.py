"""HTTP to IES: one pooled ``requests.Session``, headers, timeouts, retries, logging, error mapping.

Why a module of its own: the API methods in :mod:`ies_client.client` then read as "which path, which
parser", and the policy that decides whether a failed request may be sent again sits in one place.

Retry policy. A read (GET) is idempotent, so it is retried with exponential backoff and full jitter
on a refused or dropped connection, a timeout and a 502/503/504/429 answer. A write (POST, PUT,
DELETE) is sent again only when it provably never left this process: the TCP connection could not
be established (refused, or connect timeout). Any other failure of a write raises
:class:`~ies_client.errors.IESUnavailable` with ``maybe_applied=True``: IES may have acted on it,
so the caller reconciles by reading IES instead of ordering a second service.

Circuit breaker. Every attempt first asks the endpoint's breaker (:mod:`ies_client.breaker`): while
it is open the call fails at once with :class:`~ies_client.errors.IESCircuitOpen` and nothing is
sent; a retry is not attempted into a breaker that opened meanwhile (the backoff is not slept).
Timeouts, lost connections, 5xx (but a conflict) and 429 count as failures; 4xx answers as success.
A transport made with ``read_timeouts_count=False`` (the portal's pages, whose read timeout is
short) counts its read timeouts separately, toward the endpoint's page breaker that only such
transports obey (:class:`~ies_client.breaker.Circuits`): an IES that answers in 5 s is slow, not
down, and must not be shut off for the workers, whose longer timeout it meets. Its refused
connections, connect timeouts and 5xx count toward the endpoint's breaker, as everyone's do.

Listeners. ``add_request_listener(fn)`` has ``fn(RequestEvent)`` called after each attempt (and
for each call a breaker refused: ``status=None``, ``error="IESCircuitOpen"``, ``seconds=0``), for
metrics. A listener that raises is logged at debug level and ignored: it never breaks a request.

Secrets. The token and bearer go only into headers, set by an ``AuthBase`` hook (so a ``~/.netrc``
entry for the IES host cannot replace them, which a session-level header would allow); redirects
are not followed (a redirect to another host would carry ``X-Auth-Token`` along); logs name the
method, the path without its query, the status and the time, never a header.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase

from ies_client import wire
from ies_client.breaker import PAGES, BreakerConfig, BreakerStore, Circuit, Circuits, endpoint_template
from ies_client.errors import IESCircuitOpen, IESConflict, IESError, IESProtocolError, IESUnavailable
from ies_client.models import IESCredentials

__all__ = ["Answer", "RequestEvent", "Transport", "add_request_listener", "remove_request_listener"]

logger = logging.getLogger("ies_client")

_RETRY_STATUSES = frozenset({429, 502, 503, 504})
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_BACKOFF_S = 5.0  # no single wait longer than this, whatever Retry-After or the exponent say
POOL_SIZE = 10  # connections kept per host: a portal worker rarely has more threads talking to IES


@dataclass(frozen=True, slots=True)
class RequestEvent:
    """One attempt at an IES call, for metrics: never a header, an id or a query string.

    ``endpoint`` is the path template (``/servicemanager/v1/services/{id}``); ``status`` is None
    when no answer came; ``error`` the exception's class name (``ReadTimeout``, ``IESCircuitOpen``).
    """

    method: str
    endpoint: str
    status: int | None
    seconds: float
    error: str | None


RequestListener = Callable[[RequestEvent], object]
_listeners: tuple[RequestListener, ...] = ()
_listeners_lock = threading.Lock()


def add_request_listener(fn: RequestListener) -> None:
    """Call ``fn(event)`` after every attempt of every client of this process (once per fn)."""
    global _listeners
    with _listeners_lock:
        if fn not in _listeners:
            _listeners = (*_listeners, fn)


def remove_request_listener(fn: RequestListener) -> None:
    global _listeners
    with _listeners_lock:
        _listeners = tuple(f for f in _listeners if f is not fn)


def _emit(method: str, endpoint: str, status: int | None, seconds: float, error: str | None) -> None:
    listeners = _listeners  # a tuple swapped whole: no lock on the request path
    if not listeners:
        return
    event = RequestEvent(method, endpoint, status, seconds, error)
    for fn in listeners:
        try:
            fn(event)
        except Exception:  # noqa: BLE001 - metrics must never break a call to IES
            logger.debug("IES request listener %r failed", fn, exc_info=True)


class _IESAuth(AuthBase):
    """Adds the tenant's headers to each request. Its repr never shows them."""

    def __init__(self, credentials: IESCredentials) -> None:
        self._credentials = credentials

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        c = self._credentials
        r.headers["X-Auth-Token"] = c.token
        r.headers["Authorization"] = f"Bearer {c.bearer}"
        if c.tenant_id:
            r.headers["X-Tenant-Id"] = c.tenant_id
        return r

    def __repr__(self) -> str:
        return f"<IES auth {self._credentials!r}>"


@dataclass(frozen=True, slots=True)
class Answer:
    """A 2xx answer (or an allowed 404 with an empty body): status, parsed JSON (None when the body
    was empty) and the ``Location`` header."""

    status: int
    body: Any
    location: str | None = None


def new_session(verify_tls: bool | str) -> requests.Session:
    """A session with a keep-alive pool and no automatic retries (this module decides those)."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=POOL_SIZE, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.verify = verify_tls
    session.headers.update({"Accept": "application/json", "User-Agent": "cloudvpn-portal-ies-client/1"})
    return session


def _never_sent(exc: requests.RequestException) -> bool:
    """True only when the connection was never established, so the request cannot have reached IES."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.SSLError):
        return False
    if isinstance(exc, requests.exceptions.ConnectionError) and exc.args:
        reason = getattr(exc.args[0], "reason", exc.args[0])
        return isinstance(reason, urllib3.exceptions.NewConnectionError)
    return False


def _read_timeout(exc: requests.RequestException) -> bool:
    """IES accepted the connection but did not answer within the read timeout (before the headers,
    or while sending the body: requests wraps the latter in a ConnectionError)."""
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError) and exc.args:
        return isinstance(exc.args[0], urllib3.exceptions.ReadTimeoutError)
    return False


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value and value.strip().isdigit():
        return float(value.strip())
    return None


class Transport:
    """Sends requests to one IES base URL with one tenant's credentials."""

    def __init__(
        self,
        base_url: str,
        credentials: IESCredentials,
        *,
        session: requests.Session,
        connect_timeout: float,
        read_timeout: float,
        retries: int,
        backoff: float,
        verify_tls: bool | str = True,
        breaker: BreakerConfig | None = None,
        breaker_store: BreakerStore | None = None,
        read_timeouts_count: bool = True,
    ) -> None:
        self.base_url = base_url
        self.session = session
        self.timeout = (connect_timeout, read_timeout)
        self.retries = max(0, int(retries))
        self.backoff = max(0.0, float(backoff))
        self.verify_tls = verify_tls
        self._auth = _IESAuth(credentials)
        self.breaker = breaker or BreakerConfig()
        self._breaker_store = breaker_store  # None: the process's store (ies_client.breaker.configure)
        self.read_timeouts_count = read_timeouts_count

    def _delay(self, attempt: int, response: requests.Response | None) -> float:
        """Full jitter (AWS's "Exponential Backoff And Jitter"): uniform in [0, backoff·2^attempt],
        so that many workers that failed together do not come back together."""
        delay = random.uniform(0, min(MAX_BACKOFF_S, self.backoff * (2**attempt)))
        if response is not None and (after := _retry_after(response)) is not None:
            delay = max(delay, min(after, MAX_BACKOFF_S))
        return delay

    def circuit(self, method: str, endpoint: str) -> Circuit:
        """The endpoint's breaker, which every caller obeys."""
        return Circuit(self.base_url, method, endpoint, self.breaker, self._breaker_store)

    def circuits(self, method: str, endpoint: str) -> Circuits:
        """The breakers a call of this transport passes (see the module's docstring)."""
        pages = None if self.read_timeouts_count else Circuit(
            self.base_url, method, endpoint, self.breaker, self._breaker_store, scope=PAGES)
        return Circuits(self.circuit(method, endpoint), pages)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        empty_404_ok: bool = False,
        endpoint: str | None = None,
    ) -> Answer:
        """Send one call; return its answer or raise an :class:`~ies_client.errors.IESError`.

        ``path`` is relative to the base URL and already quoted. ``empty_404_ok`` returns a 404
        with an empty body as ``Answer(404, None)`` instead of raising: IES uses it for "none"
        (a tenant without services) and on endpoints it lacks. ``endpoint`` is the path's template
        (ids as ``{id}``): the breaker's key and the metrics' label; guessed from ``path`` if absent.
        """
        url = self.base_url + path
        endpoint = endpoint or endpoint_template(path)
        circuit = self.circuits(method, endpoint)
        idempotent = method in _IDEMPOTENT
        data = None
        headers = None
        if json_body is not None:
            data = json.dumps(json_body, separators=(",", ":")).encode()
            headers = {"Content-Type": "application/json"}
        attempt = 0
        while True:
            try:
                ticket = circuit.admit()
            except IESCircuitOpen:
                _emit(method, endpoint, None, 0.0, IESCircuitOpen.__name__)
                raise
            started = time.perf_counter()
            try:
                response = self.session.request(
                    method, url, params=params, data=data, headers=headers, auth=self._auth,
                    timeout=self.timeout, verify=self.verify_tls, allow_redirects=False,
                )
                content = response.content  # read the body inside the try: it can be cut off too
            except requests.RequestException as exc:
                seconds = time.perf_counter() - started
                logger.debug("IES %s %s failed after %.1f ms: %s", method, path, seconds * 1000, type(exc).__name__)
                ssl_error = isinstance(exc, requests.exceptions.SSLError)
                if ssl_error:  # our trust store's verdict, not IES's health
                    circuit.release(ticket)
                else:
                    circuit.failure(ticket, read_timeout=_read_timeout(exc))
                _emit(method, endpoint, None, seconds, type(exc).__name__)
                retriable = idempotent or _never_sent(exc)
                if retriable and attempt < self.retries and not ssl_error:
                    self._refuse_retry_if_open(circuit, exc, method, endpoint)
                    delay = self._delay(attempt, None)
                    attempt += 1
                    logger.debug("IES %s %s: retry %d in %.2f s", method, path, attempt, delay)
                    time.sleep(delay)
                    continue
                raise self._unavailable(exc, method, path, maybe_applied=not retriable) from exc

            status = response.status_code
            seconds = time.perf_counter() - started
            logger.debug("IES %s %s -> %d in %.1f ms", method, path, status, seconds * 1000)
            _emit(method, endpoint, status, seconds, None)

            if status in _RETRY_STATUSES:
                circuit.failure(ticket)
                if idempotent and attempt < self.retries:
                    self._refuse_retry_if_open(circuit, None, method, endpoint)
                    delay = self._delay(attempt, response)
                    attempt += 1
                    logger.debug("IES %s %s: retry %d in %.2f s", method, path, attempt, delay)
                    time.sleep(delay)
                    continue
            elif status < 500:
                circuit.success(ticket)  # 2xx, and 4xx too: IES answered

            body = self._parse(content, status, method, path)
            if 200 <= status < 300:
                return Answer(status, body, response.headers.get("Location"))
            # Strictly empty: a proxy's HTML 404 (a wrong base URL) must not read as "no services",
            # or the portal would mark every service of the tenant gone.
            if status == 404 and empty_404_ok and not content.strip():
                return Answer(404, None)
            error = wire.error_for(status, body, method=method, path=path, is_write=not idempotent)
            if status >= 500 and status not in _RETRY_STATUSES:
                # OPEN-O's 500 "an operation is in flight" is an answer; any other 5xx is IES failing.
                if isinstance(error, IESConflict):
                    circuit.success(ticket)
                else:
                    circuit.failure(ticket)
            raise error

    @staticmethod
    def _refuse_retry_if_open(circuit: Circuits, exc: Exception | None, method: str, endpoint: str) -> None:
        """Do not sleep and retry into a breaker that this failure (or another caller's) opened."""
        if circuit.is_open():
            _emit(method, endpoint, None, 0.0, IESCircuitOpen.__name__)
            raise IESCircuitOpen(method=method, path=endpoint, retry_after=circuit.endpoint.config.reset_timeout) from exc

    @staticmethod
    def _parse(content: bytes, status: int, method: str, path: str) -> Any:
        """The body as JSON, None when empty. Nonsense in a 2xx is a protocol error; in an error
        answer it is only a missing detail (the status still says what happened)."""
        if not content.strip():
            return None
        try:
            return json.loads(content)
        except ValueError:
            if 200 <= status < 300:
                raise IESProtocolError(
                    "IES sent an answer that is not JSON.", status=status, method=method, path=path
                ) from None
            return None

    @staticmethod
    def _unavailable(exc: requests.RequestException, method: str, path: str, *, maybe_applied: bool) -> IESError:
        if isinstance(exc, requests.exceptions.SSLError):
            msg = "IES's TLS certificate could not be verified."
            maybe_applied = False
        elif isinstance(exc, requests.exceptions.ConnectTimeout) or _never_sent(exc):
            msg = "IES could not be reached."
            maybe_applied = False
        elif isinstance(exc, requests.exceptions.Timeout):
            msg = "IES did not answer in time."
        else:
            msg = "The connection to IES was lost before it answered."
        return IESUnavailable(msg, maybe_applied=maybe_applied, method=method, path=path)

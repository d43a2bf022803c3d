"""A Redis that just failed is left alone for a few seconds.

With Redis down or hung, every call to it costs a refused connection or a whole socket timeout; a
page makes several. After a failure the callers skip that Redis for a short back-off (their answer:
a cache miss, a task left to the sweeper), so one request a window pays the timeout, not every call
of every request. Per process and per server (host and port: the cache and the broker on one Redis
share it, so a page whose cache call just failed does not wait again to send its task), shared by
the process's threads. The warning is logged at most once a minute while the outage lasts, and
once when it ends.
"""

import logging
import threading
import time
from urllib.parse import urlsplit

from django.conf import settings

log = logging.getLogger(__name__)

LOG_EVERY_SECONDS = 60.0
DEFAULT_BACKOFF_SECONDS = 5.0


def backoff_seconds() -> float:
    return float(getattr(settings, "REDIS_DOWN_BACKOFF_SECONDS", DEFAULT_BACKOFF_SECONDS))


class Outage:
    """The failures of one server (`what`: how the log names it; never holds a secret)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._retry_at = 0.0  # monotonic; until then, do not call
        self._logged_at: float | None = None  # monotonic; None: no outage is being reported
        self._lock = threading.Lock()

    def skipping(self) -> bool:
        """True while the back-off after the last failure lasts."""
        return time.monotonic() < self._retry_at

    def failed(self, error: BaseException, *, by: str) -> None:
        """`by`: who met the error ("cache", "broker"), for the log."""
        now = time.monotonic()
        with self._lock:
            self._retry_at = now + backoff_seconds()
            report = self._logged_at is None or now - self._logged_at >= LOG_EVERY_SECONDS
            if report:
                self._logged_at = now
        if report:
            log.warning("%s unavailable (%s: %s: %s); skipped for %g s at a time until it answers",
                        self.what, by, type(error).__name__, error, backoff_seconds())

    def answered(self) -> None:
        if self._logged_at is None:  # the common case: nothing to undo, no lock taken
            return
        with self._lock:
            was_reported, self._logged_at = self._logged_at is not None, None
        if was_reported:
            log.info("%s answers again", self.what)


_outages: dict[str, Outage] = {}
_outages_lock = threading.Lock()


def outage_of(url: str) -> Outage:
    """The process's one Outage for the server of `url` (named without its password)."""
    what = f"Redis at {server(url)}"
    with _outages_lock:
        return _outages.setdefault(what, Outage(what))


def server(url: str) -> str:
    """The server `url` addresses, without user name, password or database: safe to log."""
    parts = urlsplit(url)
    if not parts.hostname:  # a Unix socket, or no URL at all
        return f"{parts.scheme}://{parts.path}" if parts.scheme else "(unknown)"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"

"""Which database errors mean "busy or unreachable, try again soon" rather than a bug.

A locked SQLite file, a PostgreSQL lock or statement timeout, no connection slot left, a server
restarting or gone: none is the request's fault, and the same request shortly after may well work.
The portal answers those with its 503 page (`database_busy`, used by DatabaseBusyMiddleware and
the 400 and 500 handlers) instead of a 500.
"""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.template import loader
from django_htmx.http import reselect, reswap, retarget

from portal.core.http import HtmxRequest

logger = logging.getLogger(__name__)

# What the 503 page asks for: "try again in a minute".
RETRY_AFTER_SECONDS = 60

# PostgreSQL's SQLSTATEs: lock_not_available (lock_timeout), query_canceled (statement_timeout),
# too_many_connections, admin_shutdown, crash_shutdown, cannot_connect_now (starting or stopping),
# and the class 08 connection exceptions.
_BUSY_SQLSTATES = frozenset({"55P03", "57014", "53300", "57P01", "57P02", "57P03"})
# What the drivers say when there is no SQLSTATE: SQLite's lock errors, libpq's lost connections.
_BUSY_WORDS = (
    "database is locked",
    "database table is locked",
    "database is busy",
    "lock timeout",
    "statement timeout",
    "too many clients",
    "too many connections",
    "connection slots are reserved",
    "server closed the connection",
    "terminating connection",
    "could not connect",
    "connection refused",
    "connection timed out",
    "timeout expired",
    "connection is closed",
    "connection already closed",
    "the database system is",
)


def means_database_busy(exc: BaseException | None) -> bool:
    """True when `exc` is a database error that waiting a little may cure, or was raised while
    handling one (Django turns a session that could not be saved into a "bad request")."""
    for _ in range(4):
        if exc is None:
            return False
        if _is_busy(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _is_busy(exc: BaseException) -> bool:
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None) or ""
    if sqlstate in _BUSY_SQLSTATES or sqlstate.startswith("08"):
        return True
    text = str(exc).lower()
    return any(words in text for words in _BUSY_WORDS)


def database_busy(request: HtmxRequest, exception: BaseException | None) -> HttpResponse:
    """The 503 page for a database that is busy or unreachable: nothing is wrong with the request,
    and the same request in a minute may work. Rendered without the request's context: the context
    processors read the database."""
    logger.warning("database busy or unreachable: %s %s", request.method, request.path, exc_info=exception)
    changing = request.method not in ("GET", "HEAD", "OPTIONS")
    html = loader.render_to_string("503.html", {"was_change": changing,
                                                "again": "" if changing else request.get_full_path()})
    response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    htmx = bool(getattr(request, "htmx", False))  # the failure may come before HtmxMiddleware ran
    if htmx and not changing:
        # A poll (the badge, a running operation's card) keeps its place and tries again at its
        # next tick; a page that says "busy" would replace what the person is reading.
        return reswap(response, "none")
    return reswap(reselect(retarget(response, "#main"), "#main"), "outerHTML") if htmx else response

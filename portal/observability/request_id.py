"""The request id: one per web request, carried into the Celery tasks the request starts.

It lives in a context variable, so that every log record of the request (or of the task) can carry
it (`portal.observability.logs.RequestIdFilter`) without being passed around. Thread-safe: each
gunicorn thread and each worker pool thread has its own context.
"""

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest
from django.http.response import HttpResponseBase

HEADER = "X-Request-ID"
# A proxy's or client's id is kept when it is short and plain; anything else (spaces, quotes,
# newlines that could forge a log line, 200 characters) is replaced by a fresh one.
_SAFE = re.compile(r"[A-Za-z0-9._-]{1,64}")

current: ContextVar[str | None] = ContextVar("portal_request_id", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted(candidate: str | None) -> str | None:
    """The candidate id if it is safe to log as it is, else None."""
    if candidate and _SAFE.fullmatch(candidate):
        return candidate
    return None


class RequestIdMiddleware:
    """Take the incoming X-Request-ID (or make one), hold it for the request, send it back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request_id = accepted(request.headers.get(HEADER)) or new_request_id()
        # Not reset on the way out: Django logs a 4xx/5xx ("Not Found: …") after the middleware
        # returns. `forget` (on request_finished) clears it once the response is done.
        current.set(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


def forget(**kwargs: object) -> None:
    """Receiver of request_finished: the thread's next log lines are no longer this request's."""
    current.set(None)

"""Middleware of the portal's own."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpResponse

from portal.core.database_busy import database_busy, means_database_busy
from portal.core.http import HtmxRequest


class DatabaseBusyMiddleware:
    """A view that met a busy or unreachable database answers with the portal's 503 page (advice,
    Retry-After), not a 500: the request was fine, the database was not, and trying again soon may
    work. Errors outside views (a session saved after the view) reach the same page through the
    500 handler (portal.core.views.server_error)."""

    def __init__(self, get_response: Callable[[HtmxRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HtmxRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HtmxRequest, exception: Exception) -> HttpResponse | None:
        if not means_database_busy(exception):
            return None
        return database_busy(request, exception)

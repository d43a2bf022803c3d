"""Each signed-in request: "last seen" of its session (at most once a minute), and staff signed out
after STAFF_IDLE_TIMEOUT_SECONDS without a request. Placed after AuthenticationMiddleware and
MessageMiddleware (the login page says why staff were signed out)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponseBase
from django.utils.translation import gettext as _

from portal.accounts import services


class SessionActivityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            last = request.session.get(services.LAST_SEEN_KEY)
            if user.is_staff and last is not None and now - last > settings.STAFF_IDLE_TIMEOUT_SECONDS:
                minutes = max(1, round(settings.STAFF_IDLE_TIMEOUT_SECONDS / 60))
                logout(request)
                messages.info(request, _("You were signed out after %(minutes)d minutes without activity. "
                                         "Please log in again.") % {"minutes": minutes})
                return redirect_to_login(request.get_full_path())
            if last is None or now - last >= services.LAST_SEEN_EVERY_SECONDS:
                services.session_seen(request=request, now=now)
        return self.get_response(request)

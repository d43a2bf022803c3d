"""The two-factor gate. Placed after django-otp's OTPMiddleware (which gives request.user its
is_verified()); LoginRequiredMiddleware, below it, handles anonymous users.

A signed-in user who has an authenticator and has not entered one of its codes in this session is
sent to the verify page; one who must use a second factor (staff, a member of a tenant that
requires it) and has none is sent to enrol it. Every page answers so except the two-factor pages
themselves, logging out, and what needs no login: static files, the language switch, health and
readiness, the login and password-reset pages, and the API (its tokens are its authentication).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import reverse

from portal.twofactor import gate, selectors

# The pages of portal.twofactor a user may reach before verifying (its own account page waits).
OPEN_PAGES = frozenset({"verify", "setup"})


def is_verified(user: Any) -> bool:
    """django-otp's user.is_verified(), installed by OTPMiddleware on every request's user."""
    verified = getattr(user, "is_verified", None)
    return bool(verified is not None and verified())


class TwoFactorGateMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any,
                     view_kwargs: Any) -> HttpResponseBase | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        # Public views (login, password reset, language, health, the API) need no second factor.
        if not getattr(view_func, "login_required", True):
            return None
        match = request.resolver_match
        if match is not None and (match.url_name == "logout" or
                                  (match.namespace == "twofactor" and match.url_name in OPEN_PAGES)):
            return None
        if request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
            return None
        if gate.nothing_to_verify(request.session) or is_verified(user) or gate.verified_by_provider(request.session):
            return None
        step = selectors.gate_for(user=user)
        if step is None:
            gate.remember_nothing_to_verify(request.session)
            return None
        target = reverse("twofactor:verify" if step == "verify" else "twofactor:setup")
        response = redirect_to_login(request.get_full_path(), login_url=target)
        if getattr(request, "htmx", False):
            # An htmx request would swap the page into a fragment: the browser goes there instead.
            return HttpResponse(status=204, headers={"HX-Redirect": response["Location"]})
        return response

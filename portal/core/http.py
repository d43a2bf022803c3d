"""The request the portal's views receive, as the type checker should see it.

Django's HttpRequest knows nothing of what the middleware adds: django-htmx's `request.htmx`,
and, past LoginRequiredMiddleware, a signed-in user instead of "a user or AnonymousUser". Views
annotate their request with these classes; no request is ever an instance of them.
"""

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxRequest(HttpRequest):
    """Any request that passed HtmxMiddleware (every request, public pages and error pages included)."""

    htmx: HtmxDetails


class SignedInRequest(HtmxRequest):
    """A request to a view not marked public: LoginRequiredMiddleware let only a signed-in user through."""

    user: User

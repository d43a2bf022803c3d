import json
import logging
import sys
from collections.abc import Callable

from django.contrib.auth.decorators import login_not_required
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    HttpResponseNotFound,
    HttpResponsePermanentRedirect,
    HttpResponseServerError,
    JsonResponse,
)
from django.http.response import HttpResponseBase
from django.template import loader
from django.templatetags.static import static
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import requires_csrf_token
from django.views.decorators.http import require_GET
from django_htmx.http import reselect, reswap, retarget

from portal.core.database_busy import database_busy, means_database_busy
from portal.core.exceptions import AccessRefused
from portal.core.http import HtmxRequest

logger = logging.getLogger(__name__)


def public[View: Callable[..., HttpResponseBase]](view: View) -> View:
    """Mark a view as reachable without logging in (LoginRequiredMiddleware guards the rest)."""
    return login_not_required(view)


@login_not_required
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Nothing else is asked (no database, no Redis), so a restart is
    never caused by a dependency; readiness is /readyz (portal.observability)."""
    return JsonResponse({"status": "ok"})


@login_not_required
@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page links: send them to the SVG mark."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


# -- error pages -----------------------------------------------------------------------------------
# Django's own handlers would render these templates too, but without the portal's reason and way
# back. 500.html and 503.html render with no context at all, on purpose: whatever broke (the
# database, a context processor) must not break the page that says so.



@requires_csrf_token
def permission_denied(request: HtmxRequest, exception: Exception) -> HttpResponse:
    context = {
        # Only a refusal written for people is shown; other messages ("staff only") are for logs.
        "reason": exception.reason if isinstance(exception, AccessRefused) else "",
        "was_order": request.method == "POST" and _app_name(request) == "catalog",
        "was_change": request.method == "POST",
    }
    return _whole_page(request, HttpResponseForbidden(loader.render_to_string("403.html", context, request)))


@requires_csrf_token
def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    # The exception's text is never shown: another tenant's object must look exactly like a missing one.
    if request.path.startswith("/api/v"):
        # An address the API does not have: a problem document, as the API's own 404s (RFC 9457).
        body = {"type": "urn:cloudvpn:problem:not-found", "title": _("Not found"), "status": 404,
                "detail": _("The API has no such address: see /api/v1/docs."), "instance": request.path}
        return HttpResponseNotFound(json.dumps(body, ensure_ascii=False), content_type="application/problem+json")
    return HttpResponseNotFound(loader.render_to_string("404.html", {}, request))


@requires_csrf_token
def csrf_failure(request: HtmxRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: an expired session or a form left open too long, said plainly."""
    referer = request.headers.get("referer", "")
    back = referer if url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()},
                                                        require_https=request.is_secure()) else ""
    return _whole_page(request, HttpResponseForbidden(loader.render_to_string("403_csrf.html", {"back": back},
                                                                              request)))


@requires_csrf_token
def server_error(request: HtmxRequest) -> HttpResponse:
    """handler500: Django's page (500.html, no context), unless what failed was a busy or unreachable
    database outside a view (a session saved after it): then the 503 page, as DatabaseBusyMiddleware
    gives for a view. The exception being handled is still the current one here."""
    failure = sys.exc_info()[1]
    if means_database_busy(failure):
        return database_busy(request, failure)
    return HttpResponseServerError(loader.get_template("500.html").render())


@requires_csrf_token
def bad_request(request: HtmxRequest, exception: Exception) -> HttpResponse:
    """handler400: Django's page (400.html), unless the "bad request" is a session Django could not
    save because the database was busy: then the 503 page, which says what really happened."""
    if means_database_busy(exception):
        return database_busy(request, exception)
    return HttpResponseBadRequest(loader.get_template("400.html").render())


def _whole_page(request: HtmxRequest, response: HttpResponse) -> HttpResponse:
    """A refusal of an HTMX request (the bandwidth editor in place) replaces the page's main part,
    where the reason and the way back show, instead of vanishing into the fragment's box."""
    if request.htmx:
        return reswap(reselect(retarget(response, "#main"), "#main"), "outerHTML")
    return response


def _app_name(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    return match.app_name if match else ""


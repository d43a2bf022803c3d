"""/readyz and /metrics: for load balancers, orchestrators and Prometheus, not for people."""

import hmac

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.observability import metrics as portal_metrics
from portal.observability.readiness import readiness


@login_not_required
@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """200 when this replica can serve (its database answers), else 503; the report either way."""
    ready, report = readiness()
    return JsonResponse(report, status=200 if ready else 503)


@login_not_required
@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus' text: to a scraper with METRICS_TOKEN as its bearer token, or to signed-in staff.
    Anyone else is told nothing (404); a wrong token is refused (403) so a misconfigured scraper
    shows up as such."""
    presented = _bearer(request)
    token = settings.METRICS_TOKEN
    if presented is not None:
        if not token or not hmac.compare_digest(presented.encode(), token.encode()):
            return HttpResponseForbidden()
    elif not (request.user.is_authenticated and request.user.is_staff):
        raise Http404
    body, content_type = portal_metrics.exposition()
    return HttpResponse(body, content_type=content_type)


def _bearer(request: HttpRequest) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None

"""Where a person lands, and which of their tenants they act for."""

import math

from axes.helpers import get_client_username
from django.conf import settings
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from portal.tenants import throttle
from portal.tenants.access import current_membership, switch_tenant


def landing_url(request: HttpRequest) -> str:
    """Where a user starts. Staff outside every tenant have nothing under "My services": theirs is
    the staff pages (seeing as a tenant gives them that tenant's pages for the time being)."""
    if request.user.is_staff and current_membership(request) is None:
        return resolve_url("staff:tenant_list")
    return resolve_url(settings.LOGIN_REDIRECT_URL)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return redirect(landing_url(request))


class PortalLoginView(LoginView):
    """Django's login, landing on the user's own start page when no `next` says otherwise."""

    def get_default_redirect_url(self) -> str:
        return landing_url(self.request)


def locked_out(request: HttpRequest, original_response: HttpResponse | None = None,
               credentials: dict | None = None) -> HttpResponse:
    """What a login refused by the throttle answers (AXES_LOCKOUT_CALLABLE), on the portal's login
    page and on /admin/login/ alike: 429, until when, and who can lift it sooner."""
    until = throttle.lock_ends_at(username=get_client_username(request, credentials),
                                  address=getattr(request, "axes_ip_address", None))
    seconds = max(1, math.ceil((until - timezone.now()).total_seconds())) if until else 0
    response = render(request, "registration/locked_out.html",
                      {"until": until, "minutes": math.ceil(seconds / 60)}, status=429)
    if until:
        response["Retry-After"] = str(seconds)
    return response


@require_POST
def tenant_switch(request: HttpRequest) -> HttpResponse:
    try:
        tenant_id = int(request.POST.get("tenant", ""))
    except ValueError:
        tenant_id = -1
    switch_tenant(request, tenant_id)
    return redirect("services:list")

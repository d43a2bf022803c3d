"""Where a person lands, and which of their tenants they act for."""

import math

from axes.helpers import get_client_username
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from portal.accounts.forms import PortalAuthenticationForm
from portal.tenants import throttle
from portal.tenants.access import landing_url, switch_tenant


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return redirect(landing_url(request))


class PortalLoginView(LoginView):
    """Django's login, landing on the user's own start page when no `next` says otherwise."""

    form_class = PortalAuthenticationForm

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

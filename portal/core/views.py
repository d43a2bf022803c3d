from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from portal.core.access import switch_tenant


def public(view):
    """Mark a view as reachable without logging in (LoginRequiredMiddleware guards the rest)."""
    return login_not_required(view)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return redirect("services:list")


@require_POST
def tenant_switch(request: HttpRequest) -> HttpResponse:
    try:
        tenant_id = int(request.POST.get("tenant", ""))
    except ValueError:
        tenant_id = -1
    switch_tenant(request, tenant_id)
    return redirect("services:list")


@login_not_required
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})

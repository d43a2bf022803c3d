from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from portal.core.access import current_membership
from portal.core.htmx import vary_on_htmx
from portal.services import queries


@require_GET
def service_list(request: HttpRequest) -> HttpResponse:
    membership = current_membership(request)
    if membership is None:
        return render(request, "services/no_tenant.html", status=200)
    listing = queries.service_listing(tenant=membership.tenant)
    return vary_on_htmx(render(request, "services/service_list.html", {"listing": listing}))

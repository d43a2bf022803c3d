from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from portal.audit.models import AuditEvent
from portal.core.access import current_membership, get_service_for_tenant, require_membership, require_writer
from portal.core.bandwidth import BandwidthField
from portal.core.htmx import is_htmx, vary_on_htmx
from portal.operations.models import IN_FLIGHT_STATES
from portal.operations.presenters import present
from portal.services import queries
from portal.services.models import ServiceKind
from portal.services.services import ChangeRefused, service_bandwidth_change, service_delete

# The definition's bounds (IES-API.md / the simulator's schema); the catalog may say otherwise.
BANDWIDTH_MIN, BANDWIDTH_MAX, BANDWIDTH_STEP = 1000, 10_000_000, 1000


@require_GET
def service_list(request: HttpRequest) -> HttpResponse:
    membership = current_membership(request)
    if membership is None:
        return render(request, "services/no_tenant.html", status=200)
    params = {key: request.GET.get(key, "").strip() for key in ("q", "status", "kind", "sort")}
    params["sort"] = params["sort"] if params["sort"] in queries.SORTS else "name"
    listing = queries.service_listing(tenant=membership.tenant, page=request.GET.get("page", 1),
                                      force=request.GET.get("refresh") == "1", **params)
    for service in listing.services:
        service.running = listing.in_flight.get(service.pk)
    current = params["sort"]
    context = {
        "listing": listing,
        "params": params,
        "statuses": queries.status_choices(tenant=membership.tenant),
        "kinds": ServiceKind.choices,
        # A column's link sorts by it, or reverses the order when it is already the sort.
        # "Last change" starts with the newest first.
        "next_sort": {key: ("-" + key if current == key else key) for key in ("name", "bandwidth", "status")}
        | {"changed": "changed" if current == "-changed" else "-changed"},
    }
    template = "services/service_list.html#results" if is_htmx(request) else "services/service_list.html"
    return vary_on_htmx(render(request, template, context))


@require_GET
def service_row(request: HttpRequest, service_id: str) -> HttpResponse:
    """One row of the list, polled while its operation runs."""
    membership, service = get_service_for_tenant(request, service_id, include_gone=True)
    running = service.operations.filter(state__in=IN_FLIGHT_STATES).first()
    return vary_on_htmx(render(request, "services/service_list.html#row", {"s": service, "running": running}))


@require_GET
def service_detail(request: HttpRequest, service_id: str) -> HttpResponse:
    membership, service = get_service_for_tenant(request, service_id, include_gone=True)
    detail = queries.service_detail(tenant=membership.tenant, service=service)
    audit = AuditEvent.objects.filter(tenant=membership.tenant, object_type="service",
                                      object_id=service.ies_service_id)[:50]
    return render(request, "services/service_detail.html", {
        "detail": detail, "s": detail.service, "audit": audit,
        "running": present(detail.in_flight) if detail.in_flight else None,
        "parameters": sorted(detail.service.parameters.items()),
    })


class BandwidthForm(forms.Form):
    bandwidth = BandwidthField(label=gettext_lazy("New bandwidth"), minimum=BANDWIDTH_MIN, maximum=BANDWIDTH_MAX,
                               step=BANDWIDTH_STEP)

    def __init__(self, *args, current_kbps=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.current_kbps = current_kbps

    def clean_bandwidth(self):
        value = self.cleaned_data["bandwidth"]
        if value is not None and value == self.current_kbps:
            raise forms.ValidationError(_("That is the current bandwidth: enter a different value."))
        return value


@require_http_methods(["GET", "POST"])
def service_bandwidth(request: HttpRequest, service_id: str) -> HttpResponse:
    """The bandwidth editor: a form with a preview, in place (HTMX) or as its own page."""
    membership = require_writer(request) if request.method == "POST" else require_membership(request)
    _owner, service = get_service_for_tenant(request, service_id)
    form = BandwidthForm(request.POST or None, current_kbps=service.bandwidth_kbps)
    suggested = request.GET.get("suggested_kbps", "")
    if request.method == "GET" and suggested.isdigit():
        form = BandwidthForm(initial={"bandwidth": int(suggested)}, current_kbps=service.bandwidth_kbps)
    refused = ""
    if request.method == "POST" and form.is_valid():
        try:
            op = service_bandwidth_change(membership=membership, service=service,
                                          new_kbps=form.cleaned_data["bandwidth"], request=request)
        except ChangeRefused as exc:
            refused = str(exc)
        else:
            if is_htmx(request):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = f"/operations/{op.pk}/"
                return response
            return redirect("operations:detail", pk=op.pk)
    new_kbps = form.cleaned_data.get("bandwidth") if form.is_bound and form.is_valid() else None
    preview = queries.usage_preview(tenant=membership.tenant, service=service)
    context = {"s": service, "form": form, "refused": refused, "preview": preview, "new_kbps": new_kbps,
               "suggested": int(suggested) if suggested.isdigit() else None,
               "bounds": (BANDWIDTH_MIN, BANDWIDTH_MAX, BANDWIDTH_STEP),
               "can_write": membership.can_write,
               "peak_at_new": preview.utilisation_at(new_kbps, "peak") if preview and new_kbps else None,
               "p95_at_new": preview.utilisation_at(new_kbps, "p95") if preview and new_kbps else None}
    status = 409 if refused else (400 if form.is_bound and not form.is_valid() else 200)
    template = "services/service_bandwidth.html#editor" if is_htmx(request) else "services/service_bandwidth.html"
    return vary_on_htmx(render(request, template, context, status=status))


@require_http_methods(["GET", "POST"])
def service_delete_view(request: HttpRequest, service_id: str) -> HttpResponse:
    membership = require_writer(request)
    _owner, service = get_service_for_tenant(request, service_id)
    error = ""
    if request.method == "POST":
        typed = request.POST.get("confirm_name", "").strip()
        if typed != service.name:
            error = _("Type the service's name exactly as shown to confirm: %(name)s") % {"name": service.name}
        else:
            try:
                op = service_delete(membership=membership, service=service, request=request)
            except ChangeRefused as exc:
                error = str(exc)
            else:
                messages.info(request, _("Deleting %(name)s: IES takes a few minutes.") % {"name": service.name})
                return redirect("operations:detail", pk=op.pk)
    return render(request, "services/service_delete.html", {"s": service, "error": error},
                  status=400 if error else 200)


@require_GET
def tenant_activity(request: HttpRequest) -> HttpResponse:
    membership = require_membership(request)
    events = AuditEvent.objects.filter(tenant=membership.tenant).select_related("actor")[:200]
    return render(request, "services/activity.html", {"events": events})

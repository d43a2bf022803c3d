from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh

from ies_client import models as ies
from portal.core.bandwidth_input import (
    BandwidthField,
    ChangesBandwidthMixin,
    DescribedAmountMixin,
    split_kbps,
)
from portal.core.http import HtmxRequest, SignedInRequest
from portal.operations.presenters import badge_oob, present
from portal.operations.selectors import operation_running_for_service, operations_badge
from portal.services import presenters, queries
from portal.services.models import Service, ServiceKind
from portal.services.selectors import service_lookup, tenant_activity_list
from portal.services.services import ChangeRefused, service_bandwidth_change, service_delete
from portal.tenants.access import current_membership, read_only_reason, require_membership
from portal.tenants.models import Membership

# "Refresh from IES" pressed while a refresh is pending or moments after the last one.
ALREADY_ASKING = gettext_lazy("IES was asked moments ago; this page shows its answer as soon as it arrives.")

# The definition's bounds (IES-API.md / the simulator's schema); the catalog may say otherwise.
BANDWIDTH_MIN, BANDWIDTH_MAX, BANDWIDTH_STEP = 1000, 10_000_000, 1000


def _poll(request: HtmxRequest) -> int | None:
    """The number of an htmx poll of a page's partial (see queries.Freshness), None for a page view."""
    value = request.GET.get("poll", "")
    if not request.htmx or not (value.isascii() and value.isdigit()):
        return None
    return min(int(value[:4]), queries.MAX_POLLS)


def _refresh_now(request: HttpRequest, outcome: str) -> None:
    """Say why a press of "Refresh from IES" asked nothing (sent: the page shows it pending)."""
    if outcome == queries.REFRESH_ALREADY_ASKED:
        messages.info(request, ALREADY_ASKING)


def _not_known(request: HttpRequest) -> HttpResponse:
    """A miss: the same words whether the id is another tenant's or nobody's (see service_or_404)."""
    return render(request, "services/not_known.html", status=404)


def _services_or_not_known(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except queries.ServiceNotKnown:
            return _not_known(request)
    return wrapped


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")  # a page and its fragment share a URL: caches keep them apart
def service_list(request: HtmxRequest) -> HttpResponse:
    membership = current_membership(request)
    if membership is None:
        return render(request, "services/no_tenant.html", status=200)
    if request.method == "POST" or request.GET.get("refresh"):
        # "Refresh from IES" (a POST) asks the worker at once, then lands on the same list, where the
        # refresh shows as pending. An old ?refresh=1 link only lands there: a GET changes nothing.
        if request.method == "POST":
            _refresh_now(request, queries.service_list_refresh_now(tenant=membership.tenant))
        clean = request.GET.copy()
        clean.pop("refresh", None)
        clean.pop("poll", None)
        return redirect(f"{request.path}?{clean.urlencode()}" if clean else request.path)
    params = {key: request.GET.get(key, "").strip() for key in ("q", "status", "kind", "sort")}
    params["sort"] = params["sort"] if params["sort"] in queries.SORTS else "name"
    # An htmx poll or filter swaps the results only: no header, so no badge to count.
    listing = queries.service_listing(tenant=membership.tenant, page=request.GET.get("page", 1),
                                      poll=_poll(request), reader=None if request.htmx else membership, **params)
    current = params["sort"]
    context = {
        "listing": listing,
        "rows": presenters.service_rows(listing.services, listing.in_flight),
        "freshness": listing.freshness,
        "poll_seconds": queries.POLL_SECONDS,
        "params": params,
        "statuses": listing.statuses,
        "kinds": ServiceKind.choices,
        # A column's link sorts by it, or reverses the order when it is already the sort.
        # "Last change" starts with the newest first.
        "columns": _list_columns(current),
        "sort_order": "descending" if current.startswith("-") else "ascending",
    }
    if listing.badge is not None:
        context["ops_badge"] = listing.badge  # counted in the listing's summary query
    template = "services/service_list.html#results" if request.htmx else "services/service_list.html"
    return render(request, template, context)


def _list_columns(current: str) -> list[dict]:
    """The list's column heads: a sortable one links to its sort, or reverses the order when it is
    already the sort ("Last change" starts with the newest first); the sorted one is marked."""
    sorted_by = current.lstrip("-")
    columns: list[dict] = [
        {"key": "name", "label": gettext_lazy("Name")},
        {"key": "kind", "label": gettext_lazy("Kind"), "fixed": True},
        {"key": "cloud_vpn_name", "label": ies.CONNECTION_NAME_PARAMETER, "fixed": True},
        {"key": "bandwidth", "label": gettext_lazy("Bandwidth"), "num": True},
        {"key": "status", "label": gettext_lazy("Status")},
        {"key": "changed", "label": gettext_lazy("Last change")},
    ]
    for column in columns:
        key = column["key"]
        if column.get("fixed"):
            continue
        column["sorted"] = key == sorted_by
        if key == "changed":
            column["next"] = "changed" if current == "-changed" else "-changed"
        else:
            column["next"] = "-" + key if current == key else key
    return columns


@require_GET
@vary_on_headers("HX-Request")
@_services_or_not_known
def service_row(request: HttpRequest, service_id: str) -> HttpResponse:
    """One row of the list, polled while its operation runs; the header badge comes along."""
    membership, service = queries.service_or_404(request, service_lookup(include_gone=True),
                                                 ies_service_id=service_id)
    running = None if service.gone_at else operation_running_for_service(service=service)
    response = render(request, "services/service_list.html#row", {"row": presenters.service_row(service, running)})
    response.write(badge_oob(request, operations_badge(tenant=membership.tenant, reader=membership, current=running), carried=False))
    return response


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
@_services_or_not_known
def service_detail(request: HtmxRequest, service_id: str) -> HttpResponse:
    # The page (not its fragments, nor the POST) draws the header: its badge comes with the service.
    page = request.method == "GET" and not request.htmx
    membership, service = queries.service_page_or_404(
        request, ies_service_id=service_id, reader=current_membership(request) if page else None)
    if request.method == "POST":
        # "Refresh from IES": the worker reads the service now; the page shows it pending.
        _refresh_now(request, queries.service_refresh_now(tenant=membership.tenant, service=service))
        return redirect("services:detail", service_id=service.ies_service_id)
    if request.htmx and request.GET.get("part") == "state":
        return _service_state_fragment(request, membership, service)
    if request.htmx:
        return _service_running_fragment(request, membership, service)
    detail = queries.service_detail(tenant=membership.tenant, service=service, reader=membership)
    audit = [(presenters.moment(event.at), event) for event in queries.service_audit(tenant=membership.tenant,
                                                                                       service=service)]
    running = detail.in_flight if not detail.service.gone_at else None
    return render(request, "services/service_detail.html", {
        **_state_context(detail),
        "audit": audit,
        "running": present(running) if running else None,
        "ops_badge": detail.badge,
        "ops_badge_carried": running is not None,
    })


def _state_context(detail: queries.ServiceDetail) -> dict[str, Any]:
    return {"detail": detail, "s": detail.service, "freshness": detail.freshness,
            "links": presenters.service_links(detail.service),
            "history": [(presenters.moment(entry.at) or "—", entry) for entry in detail.history],
            "poll_seconds": queries.POLL_SECONDS, "parameters": sorted(detail.service.parameters.items())}


def _service_state_fragment(request: HtmxRequest, membership: Membership, service: Service) -> HttpResponse:
    """The detail page's facts and history, polled (from the mirror only) while a background
    refresh is pending. A service the refresh found deleted redraws the whole page: its buttons and
    notices change with it."""
    if service.gone_at:
        return HttpResponseClientRefresh()
    detail = queries.service_detail(tenant=membership.tenant, service=service, poll=_poll(request) or 0)
    return render(request, "services/service_detail.html#state", _state_context(detail))


def _service_running_fragment(request: HttpRequest, membership: Membership, service: Service) -> HttpResponse:
    """The detail page's "in progress" notice, polled from the mirror only (no IES call).

    When the operation is over, the whole page reloads: its status, bandwidth, buttons and history
    all changed with it, and one fresh render says it all at once.
    """
    running = None if service.gone_at else operation_running_for_service(service=service)
    if running is None:
        return HttpResponseClientRefresh()
    response = render(request, "services/service_detail.html#running",
                      {"s": service, "links": presenters.service_links(service), "running": present(running)})
    response.write(badge_oob(request, operations_badge(tenant=membership.tenant, reader=membership, current=running), carried=True))
    return response


class BandwidthForm(ChangesBandwidthMixin, DescribedAmountMixin, forms.Form):
    hide_required_mark = True  # the form's only box (templates/forms/field.html)
    bandwidth = BandwidthField(label=gettext_lazy("New bandwidth"), minimum=BANDWIDTH_MIN, maximum=BANDWIDTH_MAX,
                               step=BANDWIDTH_STEP)


def _carried(data: QueryDict) -> dict[str, str]:
    """What the editor carries from step to step: the chart's window and its suggestion, so that
    the figures stay those the suggestion came from."""
    keys = (*queries.WINDOW_KEYS, "suggested_kbps")
    return {key: value[:40] for key in keys if (value := data.get(key))}


def _read_only_notice(membership: Membership) -> str:
    if getattr(membership, "impersonated", False):
        return read_only_reason(membership)
    writers = queries.bandwidth_writers(tenant=membership.tenant)
    if not writers:
        return _("You have read-only access to this tenant: you can see the bandwidth but not change it. "
                 "Ask a portal administrator.")
    return _("You have read-only access to this tenant: you can see the bandwidth but not change it. "
             "Ask a member of your team (%(members)s) to change it.") % {"members": ", ".join(writers)}


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
@_services_or_not_known
def service_bandwidth(request: SignedInRequest, service_id: str) -> HttpResponse:
    """The bandwidth editor, in place (HTMX) or as its own page, in two steps: the form, then a
    confirmation with the old and new value, the utilisation the line would have had and how long
    IES usually takes. Only the confirmation's POST (confirm=1) sends the change to IES."""
    membership, service = queries.service_or_404(request, service_lookup(), for_writer=request.method == "POST",
                                                 ies_service_id=service_id)
    data = request.POST if request.method == "POST" else request.GET
    carried = _carried(data)
    suggested = carried.get("suggested_kbps", "")
    suggested_kbps = int(suggested) if suggested.isascii() and suggested.isdigit() else None
    context: dict[str, Any] = {"s": service, "carried": carried, "suggested": suggested_kbps,
               "bounds": (BANDWIDTH_MIN, BANDWIDTH_MAX, BANDWIDTH_STEP), "can_write": membership.can_write,
               "step": "form", "refused": ""}
    status = 200
    if not membership.can_write:
        context.update(step="read_only", notice=_read_only_notice(membership))
    elif request.method == "GET":
        context["form"] = BandwidthForm(initial={"bandwidth": suggested_kbps} if suggested_kbps else None,
                                        current_kbps=service.bandwidth_kbps)
    else:
        form = BandwidthForm(request.POST, current_kbps=service.bandwidth_kbps)
        context["form"] = form
        if not form.is_valid():
            status = 400
            form.describe_multi_part_fields()
        elif request.POST.get("confirm") == "1":
            try:
                op = service_bandwidth_change(membership=membership, service=service,
                                              new_kbps=form.cleaned_data["bandwidth"], request=request)
            except ChangeRefused as exc:
                context["refused"], status = str(exc), 409
            else:
                if request.htmx:
                    # 204 as before django-htmx (whose class answers 200): nothing to swap, only go.
                    response = HttpResponseClientRedirect(reverse("operations:detail", kwargs={"pk": op.pk}))
                    response.status_code = 204
                    return response
                return redirect("operations:detail", pk=op.pk)
        elif request.POST.get("edit") != "1":
            new_kbps = form.cleaned_data["bandwidth"]
            context.update(step="confirm", new_kbps=new_kbps, confirm_value=split_kbps(new_kbps),
                           expected=queries.bandwidth_change_expectation(service=service))
    # The traffic figures (IES, cached) only for a page that shows them: never on the way to IES.
    preview = queries.usage_preview(tenant=membership.tenant, service=service,
                                    window={k: v for k, v in carried.items() if k != "suggested_kbps"})
    context["preview"] = preview
    if context["step"] == "confirm" and preview:
        new_kbps = context["new_kbps"]
        context.update(peak_at_new=preview.utilisation_at(new_kbps, "peak"),
                       p95_at_new=preview.utilisation_at(new_kbps, "p95"),
                       peak_now=preview.utilisation_at(service.bandwidth_kbps, "peak"),
                       p95_now=preview.utilisation_at(service.bandwidth_kbps, "p95"))
    template = "services/service_bandwidth.html#editor" if request.htmx else "services/service_bandwidth.html"
    return render(request, template, context, status=status)


@require_http_methods(["GET", "POST"])
@_services_or_not_known
def service_delete_view(request: SignedInRequest, service_id: str) -> HttpResponse:
    membership, service = queries.service_or_404(request, service_lookup(), for_writer=True,
                                                 ies_service_id=service_id)
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
    events = tenant_activity_list(tenant=membership.tenant)[:200]
    return render(request, "services/activity.html", {"events": events})

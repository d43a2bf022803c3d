"""The planned changes of a service: the list with their outcomes, and a boost or change to plan."""

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from portal.core.http import SignedInRequest
from portal.policies import selectors, services
from portal.policies.forms import OneOffForm, WeeklyForm, WindowFormSet, calendar_from
from portal.policies.models import BandwidthPolicy
from portal.policies.services import PolicyRefused
from portal.services import queries
from portal.services.models import Service
from portal.services.selectors import service_lookup
from portal.tenants.access import read_only_reason
from portal.tenants.models import Membership
from portal.traffic.ranges import zone, zone_label


def _not_known(request: HttpRequest) -> HttpResponse:
    return render(request, "services/not_known.html", status=404)


@require_http_methods(["GET", "POST"])
def service_policies(request: SignedInRequest, service_id: str) -> HttpResponse:
    try:
        membership, service = queries.service_or_404(request, service_lookup(include_gone=True),
                                                     for_writer=request.method == "POST", ies_service_id=service_id)
    except queries.ServiceNotKnown:
        return _not_known(request)
    can_plan = membership.can_write and service.gone_at is None
    kind = request.POST.get("kind") if request.method == "POST" else None
    data = request.POST if kind == "one_off" else None
    weekly_data = request.POST if kind == "weekly" else None
    forms_: dict[str, Any] = {}
    if can_plan:
        forms_ = {"form": OneOffForm(data, current_kbps=service.bandwidth_kbps, prefix="once"),
                  "weekly_form": WeeklyForm(weekly_data, prefix="weekly"),
                  "windows": WindowFormSet(weekly_data, prefix="window")}
    refused, refused_kind, status = "", "", 200
    if request.method == "POST" and not can_plan:
        refused, status = _("The service was deleted."), 409
    elif kind in ("one_off", "weekly"):
        try:
            policy = _plan(request, membership, service, kind, forms_)
        except PolicyRefused as exc:
            refused, refused_kind, status = str(exc), kind, 400
        else:
            if policy is not None:
                messages.success(request, _("Planned: %(name)s.") % {"name": policy.name})
                return redirect("services:policies", service_id=service.ies_service_id)
            status = 400
    elif request.method == "POST":
        status = 400
    bound = [forms_["form"], forms_["weekly_form"], *forms_["windows"]] if forms_ else []
    for form in bound:
        if form.is_bound:
            form.describe_multi_part_fields()
    return render(request, "policies/service_policies.html", {
        "s": service, "policies": selectors.policies_for_service(tenant=membership.tenant, service=service),
        **forms_, "refused": refused, "refused_kind": refused_kind, "can_write": membership.can_write,
        "read_only": "" if membership.can_write else read_only_reason(membership),
        "automation_paused": membership.tenant.automation_paused, "zone": zone_label(),
    }, status=status)


def _plan(request: SignedInRequest, membership: Membership, service: Service, kind: str,
          forms_: dict[str, Any]) -> BandwidthPolicy | None:
    """The policy the bound form describes, planned; None when the form itself is refused."""
    if kind == "one_off":
        form = forms_["form"]
        if not form.is_valid():
            return None
        data = form.cleaned_data
        return services.policy_one_off_create(membership=membership, service=service, kbps=data["bandwidth"],
                                              at=data["at"], revert_at=data["revert_at"], name=data["name"],
                                              request=request)
    form, windows = forms_["weekly_form"], forms_["windows"]
    if not (form.is_valid() & windows.is_valid()):  # both validated: every mistake shown at once
        return None
    return services.policy_weekly_create(membership=membership, service=service, request=request,
                                         calendar=calendar_from(form, windows, zone()), name=form.cleaned_data["name"])


ACTIONS = {"pause": services.policy_pause, "resume": services.policy_resume, "end": services.policy_end}


@require_POST
def policy_action(request: SignedInRequest, service_id: str, pk: int) -> HttpResponse:
    try:
        membership, service = queries.service_or_404(request, service_lookup(include_gone=True), for_writer=True,
                                                     ies_service_id=service_id)
    except queries.ServiceNotKnown:
        return _not_known(request)
    policy = selectors.policy_of_service_or_none(tenant=membership.tenant, service=service, pk=pk)
    action = ACTIONS.get(request.POST.get("action", ""))
    if policy is None or action is None:
        raise Http404("no such policy or action")
    try:
        action(membership=membership, policy=policy, request=request)
    except PolicyRefused as exc:
        messages.error(request, str(exc))
    return redirect("services:policies", service_id=service.ies_service_id)


@require_POST
def automation(request: SignedInRequest, service_id: str) -> HttpResponse:
    """The tenant's switch, from one of its service's pages (it comes back there)."""
    try:
        membership, service = queries.service_or_404(request, service_lookup(include_gone=True), for_writer=True,
                                                     ies_service_id=service_id)
    except queries.ServiceNotKnown:
        return _not_known(request)
    paused = request.POST.get("paused") == "1"
    services.tenant_automation_set(membership=membership, paused=paused, request=request)
    messages.success(request, _("Every bandwidth policy of the tenant is stopped: planned changes wait until "
                                "policies run again.") if paused else _("Bandwidth policies run again."))
    return redirect("services:policies", service_id=service.ies_service_id)

"""The planned changes of a service: the list with their outcomes, and a boost or change to plan."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from portal.core.http import SignedInRequest
from portal.policies import selectors, services
from portal.policies.forms import OneOffForm
from portal.policies.services import PolicyRefused
from portal.services import queries
from portal.services.selectors import service_lookup
from portal.tenants.access import read_only_reason
from portal.traffic.ranges import zone_label


def _not_known(request: HttpRequest) -> HttpResponse:
    return render(request, "services/not_known.html", status=404)


@require_http_methods(["GET", "POST"])
def service_policies(request: SignedInRequest, service_id: str) -> HttpResponse:
    try:
        membership, service = queries.service_or_404(request, service_lookup(include_gone=True),
                                                     for_writer=request.method == "POST", ies_service_id=service_id)
    except queries.ServiceNotKnown:
        return _not_known(request)
    form, refused, status = None, "", 200
    can_plan = membership.can_write and service.gone_at is None
    if request.method == "POST" and can_plan:
        form = OneOffForm(request.POST, current_kbps=service.bandwidth_kbps)
        if form.is_valid():
            data = form.cleaned_data
            try:
                policy = services.policy_one_off_create(
                    membership=membership, service=service, kbps=data["bandwidth"], at=data["at"],
                    revert_at=data["revert_at"], name=data["name"], request=request)
            except PolicyRefused as exc:
                refused, status = str(exc), 400
            else:
                messages.success(request, _("Planned: %(name)s.") % {"name": policy.name})
                return redirect("services:policies", service_id=service.ies_service_id)
        else:
            status = 400
        form.describe_multi_part_fields()
    elif request.method == "POST":
        refused, status = _("The service was deleted."), 409
    elif can_plan:
        form = OneOffForm(current_kbps=service.bandwidth_kbps)
    return render(request, "policies/service_policies.html", {
        "s": service, "policies": selectors.policies_for_service(tenant=membership.tenant, service=service),
        "form": form, "refused": refused, "can_write": membership.can_write,
        "read_only": "" if membership.can_write else read_only_reason(membership),
        "automation_paused": membership.tenant.automation_paused, "zone": zone_label(),
        "now": timezone.localtime(),
    }, status=status)


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

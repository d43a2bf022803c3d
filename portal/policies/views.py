"""The planned changes of a service: the list with their outcomes, and a boost or change to plan."""

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from portal.core.http import SignedInRequest
from portal.core.units import format_kbps
from portal.policies import autoscaling, presenters, selectors, services
from portal.policies.charts import backtest_chart, preview_chart
from portal.policies.forms import (
    AutoScaleForm,
    OneOffForm,
    WeeklyForm,
    WindowFormSet,
    calendar_from,
    calendar_initial,
)
from portal.policies.models import BandwidthPolicy, OccurrenceState, PolicyKind, PolicyState
from portal.policies.services import PolicyRefused
from portal.services import queries
from portal.services.models import Service
from portal.services.selectors import service_lookup
from portal.tenants.access import read_only_reason, require_membership, require_writer
from portal.tenants.models import Membership
from portal.traffic.ranges import zone, zone_label
from portal.traffic.selectors import epoch_label
from portal.traffic.stats import format_duration

BACKTEST_LISTED = 50  # changes listed under a backtest's chart (the chart marks them all)


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
                  "windows": WindowFormSet(weekly_data, prefix="window"),
                  "auto_form": AutoScaleForm(request.POST if kind == "autoscale" else None, prefix="auto",
                                             initial=_autoscale_initial(service))}
    refused, refused_kind, status = "", "", 200
    backtest = None
    if request.method == "POST" and not can_plan:
        refused, status = _("The service was deleted."), 409
    elif kind == "autoscale" and request.POST.get("do") == "backtest":
        try:
            backtest = _backtest(membership, service, forms_["auto_form"])
        except PolicyRefused as exc:
            refused, refused_kind, status = str(exc), kind, 400
        else:
            status = 200 if backtest is not None else 400
    elif kind in ("one_off", "weekly", "autoscale"):
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
    bound = [forms_["form"], forms_["weekly_form"], forms_["auto_form"], *forms_["windows"]] if forms_ else []
    for form in bound:
        if form.is_bound:
            form.describe_multi_part_fields()
    return render(request, "policies/service_policies.html", {
        "s": service, "policies": _described(selectors.policies_for_service(tenant=membership.tenant, service=service)),
        **forms_, "refused": refused, "refused_kind": refused_kind, "can_write": membership.can_write,
        "read_only": "" if membership.can_write else read_only_reason(membership),
        "automation_paused": membership.tenant.automation_paused, "zone": zone_label(), "backtest": backtest,
        "preview": preview_chart(tenant=membership.tenant, service=service, now=timezone.now()),
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
    if kind == "autoscale":
        form = forms_["auto_form"]
        if not form.is_valid():
            return None
        return autoscaling.policy_autoscale_create(membership=membership, service=service, request=request,
                                                   settings=form.cleaned_data["settings"], name=form.cleaned_data["name"])
    form, windows = forms_["weekly_form"], forms_["windows"]
    if not (form.is_valid() & windows.is_valid()):  # both validated: every mistake shown at once
        return None
    return services.policy_weekly_create(membership=membership, service=service, request=request,
                                         calendar=calendar_from(form, windows, zone()), name=form.cleaned_data["name"])


def _described(policies: list[BandwidthPolicy]) -> list[BandwidthPolicy]:
    """Auto-scale policies and their decisions, with their words for the page."""
    for policy in policies:
        if policy.kind == PolicyKind.AUTOSCALE:
            policy.rules_text = presenters.rules_text(policy)  # type: ignore[attr-defined]
            policy.check_text = presenters.check_text(policy)  # type: ignore[attr-defined]
        for occurrence in policy.occurrences.all():
            if occurrence.decision:
                occurrence.decision_text = presenters.decision_text(occurrence)  # type: ignore[attr-defined]
    return policies


def _autoscale_initial(service: Service) -> dict[str, Any]:
    """Floor and ceiling around the present size, the form's other fields at their defaults."""
    kbps = service.bandwidth_kbps or 100_000
    return {"floor": max(1000, kbps // 2 // 1000 * 1000), "ceiling": kbps * 2}


def _backtest(membership: Membership, service: Service, form: AutoScaleForm) -> dict[str, Any] | None:
    """What the policy in the form would have done over the chosen past days; None when the form is
    refused. IES trouble is a PolicyRefused in words."""
    if not form.is_valid():
        return None
    days = form.cleaned_data.get("days") or 7
    result = autoscaling.backtest_for(tenant=membership.tenant, service=service, days=days,
                                      settings=form.cleaned_data["settings"], now=timezone.now())
    outcome = result.outcome
    spec = autoscaling.spec_of(form.cleaned_data["settings"])
    changes = [{"at": epoch_label(c.decided_at), "kbps": c.kbps,
                "why": presenters.reason_text(str(c.decision.reason), c.decision.figure_pct, c.kbps, spec)}
               for c in outcome.changes[:BACKTEST_LISTED]]
    fixed_h, saved_h = outcome.kbps_hours_fixed / 1000, outcome.kbps_hours_saved / 1000  # Mbit/s × h
    share = f"{abs(saved_h) / fixed_h * 100:.0f}" if fixed_h else "0"
    if saved_h >= 0:
        saved = _("%(amount)s Mbit/s·h fewer than at today's size (−%(share)s %%)")
    else:
        saved = _("%(amount)s Mbit/s·h more than at today's size (+%(share)s %%)")
    return {"days": days, "result": result, "changes": changes, "more": max(0, len(outcome.changes) - BACKTEST_LISTED),
            "busy_policy": format_duration(outcome.busy_s_policy), "busy_fixed": format_duration(outcome.busy_s_fixed),
            "saved_text": saved % {"amount": f"{abs(saved_h):,.0f}", "share": share},
            "chart": backtest_chart(outcome, rate_in=result.rate_in, rate_out=result.rate_out,
                                    fixed_kbps=result.fixed_kbps)}


def _writers_policy(request: SignedInRequest, service_id: str,
                    pk: int) -> tuple[Membership, Service, BandwidthPolicy | None] | HttpResponse:
    """The service (for a member: a viewer is refused before anything is read) and its policy ``pk``
    (None: not this service's), or the page that says the service is not known."""
    try:
        membership, service = queries.service_or_404(request, service_lookup(include_gone=True), for_writer=True,
                                                     ies_service_id=service_id)
    except queries.ServiceNotKnown:
        return _not_known(request)
    return membership, service, selectors.policy_of_service_or_none(tenant=membership.tenant, service=service, pk=pk)


@require_http_methods(["GET", "POST"])
def policy_edit(request: SignedInRequest, service_id: str, pk: int) -> HttpResponse:
    """Edit a weekly calendar in place (members only; viewers are refused before anything is read)."""
    found = _writers_policy(request, service_id, pk)
    if isinstance(found, HttpResponse):
        return found
    membership, service, policy = found
    if policy is None or policy.kind != PolicyKind.WEEKLY or policy.state == PolicyState.ENDED:
        raise Http404("no such calendar")
    initial, rows = calendar_initial(services.calendar_of(policy))
    data = request.POST if request.method == "POST" else None
    form = WeeklyForm(data, prefix="weekly", initial={**initial, "name": policy.name})
    windows = WindowFormSet(data, prefix="window", initial=rows)
    refused, status = "", 200
    if data is not None:
        if form.is_valid() & windows.is_valid():  # both validated: every mistake shown at once
            try:
                services.policy_weekly_update(membership=membership, policy=policy, request=request,
                                              calendar=calendar_from(form, windows, zone()), name=form.cleaned_data["name"])
            except PolicyRefused as exc:
                refused, status = str(exc), 400
            else:
                messages.success(request, _("Saved: %(name)s. Its planned changes were replaced.") % {
                    "name": form.cleaned_data["name"] or policy.name})
                return redirect("services:policies", service_id=service.ies_service_id)
        else:
            status = 400
        for bound in [form, *windows]:
            bound.describe_multi_part_fields()
    return render(request, "policies/policy_edit.html", {
        "s": service, "policy": policy, "weekly_form": form, "windows": windows, "refused": refused,
        "zone": zone_label()}, status=status)


ACTIONS = {"pause": services.policy_pause, "resume": services.policy_resume, "end": services.policy_end}


@require_POST
def policy_action(request: SignedInRequest, service_id: str, pk: int) -> HttpResponse:
    found = _writers_policy(request, service_id, pk)
    if isinstance(found, HttpResponse):
        return found
    membership, service, policy = found
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


@require_safe
def tenant_policies(request: SignedInRequest) -> HttpResponse:
    """Every live policy of the tenant, what awaits approval, and what IES refused."""
    membership = require_membership(request)
    proposals = selectors.proposals_for_tenant(tenant=membership.tenant)
    for occurrence in proposals:
        occurrence.decision_text = presenters.decision_text(occurrence)  # type: ignore[attr-defined]
    policies = selectors.policies_for_tenant(tenant=membership.tenant)
    return render(request, "policies/tenant_policies.html", {
        "proposals": proposals, "policies": policies, "can_write": membership.can_write,
        "read_only": "" if membership.can_write else read_only_reason(membership),
        "automation_paused": membership.tenant.automation_paused,
    })


@require_POST
def proposal(request: SignedInRequest, pk: int) -> HttpResponse:
    """Approve or decline a change an auto-scale policy proposed."""
    membership = require_writer(request)
    occurrence = selectors.proposal_or_none(tenant=membership.tenant, pk=pk)
    action = request.POST.get("action")
    if occurrence is None or action not in ("approve", "decline"):
        raise Http404("no such proposal or action")
    try:
        decided = autoscaling.proposal_decide(membership=membership, occurrence=occurrence,
                                              approve=action == "approve", request=request)
    except PolicyRefused as exc:
        messages.error(request, str(exc))
    else:
        bw = format_kbps(decided.kbps)
        if action == "decline":
            messages.success(request, _("Declined: the bandwidth stays as it is."))
        elif decided.state == OccurrenceState.STARTED:
            messages.success(request, _("Approved: the change to %(bw)s has started.") % {"bw": bw})
        elif decided.state == OccurrenceState.PLANNED:
            messages.success(request, _("Approved: the change to %(bw)s starts once the change in progress has "
                                        "ended.") % {"bw": bw})
        else:
            messages.error(request, _("Approved, but not started: %(why)s") % {"why": decided.note})
    if request.POST.get("back") == "service":
        return redirect("services:policies", service_id=occurrence.policy.service.ies_service_id)
    return redirect("policies:list")

"""/policies: the tenant's bandwidth policies (read)."""

from collections.abc import Callable

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router

from portal.api.auth import caller, signed_in
from portal.api.endpoints.services import service_of_tenant
from portal.api.idempotency import run_write
from portal.api.models import Scope
from portal.api.present import json_response, policy_out
from portal.api.problems import conflict, invalid, not_found
from portal.api.schemas import Input, OneOffPolicyIn, PolicyOut, Problem, RowId
from portal.policies import services as policy_services
from portal.policies.models import BandwidthPolicy, Occurrence, OccurrenceState, PolicyState
from portal.policies.services import PolicyRefused, policy_one_off_create

router = Router(tags=["policies"])

ERRORS = {401: Problem, 403: Problem, 404: Problem, 422: Problem, 429: Problem}
WRITE_ERRORS = {**ERRORS, 400: Problem, 409: Problem}


class PolicyFilters(Input):
    service_id: str = Field("", max_length=64, description="Only this service's policies.")
    include_ended: bool = False


def _next_changes(policies: list[BandwidthPolicy]) -> dict[int, Occurrence]:
    soonest: dict[int, Occurrence] = {}
    planned = (Occurrence.objects.filter(policy__in=policies, state=OccurrenceState.PLANNED).order_by("due_at"))
    for occurrence in planned:
        soonest.setdefault(occurrence.policy_id, occurrence)
    return soonest


@router.get("", response={200: list[PolicyOut], **ERRORS}, url_name="policy_list", summary="The tenant's policies")
def policy_list(request: HttpRequest, filters: Query[PolicyFilters]) -> list[PolicyOut]:
    who = caller(request)
    who.require(Scope.READ)
    policies = BandwidthPolicy.objects.filter(tenant=who.tenant).select_related("service").order_by("-created_at", "-id")
    if not filters.include_ended:
        policies = policies.exclude(state=PolicyState.ENDED)
    if filters.service_id:
        policies = policies.filter(service__ies_service_id=filters.service_id)
    rows = list(policies[:500])
    soonest = _next_changes(rows)
    return [policy_out(p, p.service.ies_service_id, soonest.get(p.pk)) for p in rows]


def _of_tenant(request: HttpRequest, policy_id: int) -> BandwidthPolicy:
    policy = (BandwidthPolicy.objects.filter(tenant=caller(request).tenant, pk=policy_id)
              .select_related("service").first())
    if policy is None:
        raise not_found(_("This tenant has no policy with this id."))
    return policy


def _shown(policy: BandwidthPolicy) -> PolicyOut:
    return policy_out(policy, policy.service.ies_service_id, _next_changes([policy]).get(policy.pk))


@router.get("/{policy_id}", response={200: PolicyOut, **ERRORS}, url_name="policy_get", summary="One policy")
def policy_get(request: HttpRequest, policy_id: RowId) -> PolicyOut:
    caller(request).require(Scope.READ)
    return _shown(_of_tenant(request, policy_id))


@router.post("", response={201: PolicyOut, 200: PolicyOut, **WRITE_ERRORS}, url_name="policy_create",
             summary="Plan a bandwidth change or a boost (needs the modify scope; ?dry_run=true plans nothing)")
def policy_create(request: HttpRequest, body: OneOffPolicyIn, dry_run: bool = False) -> HttpResponse:
    who = caller(request)
    who.require(Scope.MODIFY)

    def produce() -> HttpResponse:
        service = service_of_tenant(request, body.service_id, include_gone=False)
        with transaction.atomic():
            try:
                policy = policy_one_off_create(membership=who.membership, service=service, at=body.at,
                                               kbps=body.bandwidth_kbps, revert_at=body.revert_at, name=body.name,
                                               request=signed_in(request))
            except PolicyRefused as exc:
                raise invalid([{"field": "body", "message": str(exc)}], str(exc)) from exc
            shown = _shown(policy)
            if dry_run:
                # Checked and planned as for real, then undone: the answer shows what would be planned
                # (id 0: nothing was saved).
                transaction.set_rollback(True)
                return json_response(shown.model_copy(update={"id": 0}), status=200)
        return json_response(shown, status=201, location=request.build_absolute_uri(
            reverse("api:policy_get", args=[policy.pk])))

    return run_write(request, produce)


def _state_change(request: HttpRequest, policy_id: int, change: Callable[..., BandwidthPolicy]) -> HttpResponse:
    who = caller(request)
    who.require(Scope.MODIFY)

    def produce() -> HttpResponse:
        policy = _of_tenant(request, policy_id)
        try:
            changed = change(membership=who.membership, policy=policy, request=signed_in(request))
        except PolicyRefused as exc:
            raise conflict("policy-refused", str(exc)) from exc
        return json_response(_shown(changed))

    return run_write(request, produce)


@router.post("/{policy_id}/pause", response={200: PolicyOut, **WRITE_ERRORS}, url_name="policy_pause",
             summary="Pause a policy (needs the modify scope)")
def policy_pause(request: HttpRequest, policy_id: RowId) -> HttpResponse:
    return _state_change(request, policy_id, policy_services.policy_pause)


@router.post("/{policy_id}/resume", response={200: PolicyOut, **WRITE_ERRORS}, url_name="policy_resume",
             summary="Resume a paused policy (needs the modify scope)")
def policy_resume(request: HttpRequest, policy_id: RowId) -> HttpResponse:
    return _state_change(request, policy_id, policy_services.policy_resume)


@router.post("/{policy_id}/end", response={200: PolicyOut, **WRITE_ERRORS}, url_name="policy_end",
             summary="End a policy: its planned changes are cancelled (needs the modify scope)")
def policy_end(request: HttpRequest, policy_id: RowId) -> HttpResponse:
    return _state_change(request, policy_id, policy_services.policy_end)

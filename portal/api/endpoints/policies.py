"""/policies: the tenant's bandwidth policies (read)."""

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from portal.api.auth import caller
from portal.api.models import Scope
from portal.api.present import policy_out
from portal.api.problems import not_found
from portal.api.schemas import PolicyOut, Problem, RowId
from portal.policies.models import BandwidthPolicy, Occurrence, OccurrenceState, PolicyState

router = Router(tags=["policies"])

ERRORS = {401: Problem, 403: Problem, 404: Problem, 422: Problem, 429: Problem}


class PolicyFilters(Schema):
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


@router.get("/{policy_id}", response={200: PolicyOut, **ERRORS}, url_name="policy_get", summary="One policy")
def policy_get(request: HttpRequest, policy_id: RowId) -> PolicyOut:
    who = caller(request)
    who.require(Scope.READ)
    policy = BandwidthPolicy.objects.filter(tenant=who.tenant, pk=policy_id).select_related("service").first()
    if policy is None:
        raise not_found(_("This tenant has no policy with this id."))
    return policy_out(policy, policy.service.ies_service_id, _next_changes([policy]).get(policy.pk))

"""What the policies pages read: a service's policies with their planned changes, scoped by tenant."""

from django.db.models import Case, IntegerField, Prefetch, QuerySet, Value, When

from portal.policies.models import BandwidthPolicy, Occurrence, PolicyState
from portal.services.models import Service
from portal.tenants.models import Tenant

ENDED_SHOWN = 10  # ended policies listed under the live ones, newest first


def policies_for_service(*, tenant: Tenant, service: Service) -> list[BandwidthPolicy]:
    """The service's live policies (active, then paused), then its last ended ones, each with its
    changes (and their operations) in time order."""
    base: QuerySet[BandwidthPolicy] = (
        BandwidthPolicy.objects.filter(tenant=tenant, service=service)
        .prefetch_related(Prefetch("occurrences", queryset=Occurrence.objects.select_related("operation")))
        .select_related("created_by")
    )
    live = base.exclude(state=PolicyState.ENDED).annotate(
        rank=Case(When(state=PolicyState.ACTIVE, then=Value(0)), default=Value(1), output_field=IntegerField())
    ).order_by("rank", "-created_at", "-id")
    ended = base.filter(state=PolicyState.ENDED).order_by("-ended_at", "-id")[:ENDED_SHOWN]
    return [*live, *ended]


def policy_of_service_or_none(*, tenant: Tenant, service: Service, pk: int) -> BandwidthPolicy | None:
    return BandwidthPolicy.objects.filter(tenant=tenant, service=service, pk=pk).first()

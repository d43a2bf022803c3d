"""What the policies pages read: a service's policies with their planned changes, scoped by tenant."""

from datetime import timedelta

from django.db.models import Case, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.utils import timezone

from portal.policies.models import BandwidthPolicy, Occurrence, OccurrenceState, PolicyKind, PolicyState
from portal.services.models import Service
from portal.tenants.models import Tenant

ENDED_SHOWN = 10  # ended policies listed under the live ones, newest first
PAST_SHOWN = timedelta(days=7)  # a calendar runs for months: its changes of the last week are shown


def policies_for_service(*, tenant: Tenant, service: Service) -> list[BandwidthPolicy]:
    """The service's live policies (active, then paused), then its last ended ones, each with its
    changes (and their operations) in time order: those planned, and those of the last week."""
    recent = (Q(policy__kind=PolicyKind.ONE_OFF) | Q(state=OccurrenceState.PLANNED)
              | Q(due_at__gte=timezone.now() - PAST_SHOWN))
    base: QuerySet[BandwidthPolicy] = (
        BandwidthPolicy.objects.filter(tenant=tenant, service=service)
        .prefetch_related(Prefetch("occurrences", queryset=Occurrence.objects.filter(recent).select_related("operation")))
        .select_related("created_by")
    )
    live = base.exclude(state=PolicyState.ENDED).annotate(
        rank=Case(When(state=PolicyState.ACTIVE, then=Value(0)), default=Value(1), output_field=IntegerField())
    ).order_by("rank", "-created_at", "-id")
    ended = base.filter(state=PolicyState.ENDED).order_by("-ended_at", "-id")[:ENDED_SHOWN]
    return [*live, *ended]


def policy_of_service_or_none(*, tenant: Tenant, service: Service, pk: int) -> BandwidthPolicy | None:
    return BandwidthPolicy.objects.filter(tenant=tenant, service=service, pk=pk).first()


def autoscale_in_use() -> bool:
    """Whether any auto-scale policy could act or has a proposal to let lapse."""
    return (BandwidthPolicy.objects.filter(kind=PolicyKind.AUTOSCALE, state=PolicyState.ACTIVE).exists()
            or Occurrence.objects.filter(state=OccurrenceState.PROPOSED).exists())


def policies_for_tenant(*, tenant: Tenant) -> list[BandwidthPolicy]:
    """The tenant's live policies, those IES refused first, each with its service."""
    return list(BandwidthPolicy.objects.filter(tenant=tenant).exclude(state=PolicyState.ENDED)
                .select_related("service").order_by("-needs_attention", "service__name", "-created_at", "-id"))


def proposals_for_tenant(*, tenant: Tenant) -> list[Occurrence]:
    """Changes awaiting a member's approval, the soonest to lapse first."""
    return list(Occurrence.objects.filter(policy__tenant=tenant, state=OccurrenceState.PROPOSED)
                .select_related("policy", "policy__service").order_by("expires_at", "id"))


def proposal_or_none(*, tenant: Tenant, pk: int) -> Occurrence | None:
    return Occurrence.objects.filter(pk=pk, policy__tenant=tenant).select_related("policy", "policy__service").first()

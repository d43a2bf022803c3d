"""Reads of the audit trail for the staff audit page and its CSV export."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.core.natural import natural_sorted


@dataclass(frozen=True)
class AuditFilter:
    tenant: str = ""  # tenant name (kept on the event even after the tenant is deleted)
    user: str = ""  # part of the actor's user name
    action: str = ""  # an action or the start of one ("tenant." matches tenant.create, tenant.update…)
    outcome: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None  # inclusive


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def audit_event_list(*, filters: AuditFilter) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.order_by("-at", "-id")
    if filters.tenant:
        events = events.filter(tenant_name=filters.tenant)
    if filters.user:
        events = events.filter(actor_name__icontains=filters.user)
    if filters.action:
        events = events.filter(action__startswith=filters.action)
    if filters.outcome:
        events = events.filter(outcome=filters.outcome)
    if filters.date_from:
        events = events.filter(at__gte=_start_of(filters.date_from))
    if filters.date_to:
        events = events.filter(at__lt=_start_of(filters.date_to + dt.timedelta(days=1)))
    return events


def audit_known_actions() -> list[str]:
    return list(AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct())


def audit_known_tenants() -> list[str]:
    """Tenants that exist and tenants named by events (a deleted tenant's events stay findable)."""
    from portal.tenants.models import Tenant

    named = AuditEvent.objects.exclude(tenant_name="").values_list("tenant_name", flat=True).distinct()
    return natural_sorted(set(named) | set(Tenant.objects.values_list("name", flat=True)))

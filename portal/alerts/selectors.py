"""What the alert pages read: a tenant's rules, its events, what fires now, one's subscription."""

from __future__ import annotations

from django.db.models import QuerySet

from portal.alerts.models import AlertEvent, AlertRule, AlertState, AlertSubscription
from portal.services.models import Service
from portal.tenants.models import Membership

EVENTS_SHOWN = 100


def rules_of(*, tenant_id: int) -> QuerySet[AlertRule]:
    return AlertRule.objects.filter(tenant_id=tenant_id).order_by("name", "pk")


def rule_of(*, tenant_id: int, pk: int) -> AlertRule | None:
    return AlertRule.objects.filter(tenant_id=tenant_id, pk=pk).first()


def firing_of(*, tenant_id: int) -> list[AlertState]:
    return list(AlertState.objects.filter(rule__tenant_id=tenant_id, rule__enabled=True).exclude(level="")
                .select_related("rule", "event").order_by("-level", "since"))


def events_of(*, tenant_id: int) -> list[AlertEvent]:
    return list(AlertEvent.objects.filter(tenant_id=tenant_id)[:EVENTS_SHOWN])


def subscription_of(*, membership: Membership) -> AlertSubscription | None:
    return AlertSubscription.objects.filter(user=membership.user, tenant=membership.tenant).first()


def service_choices(*, tenant_id: int) -> list[tuple[str, str]]:
    """The tenant's live services a rule may watch: (IES id, name), by name."""
    rows = Service.objects.filter(tenant_id=tenant_id, gone_at__isnull=True).order_by("name")
    return list(rows.values_list("ies_service_id", "name"))

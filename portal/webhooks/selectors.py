"""Reads of webhook endpoints and deliveries, scoped by tenant (or by the endpoint, itself scoped)."""

from datetime import datetime

from django.db.models import QuerySet

from portal.tenants.models import Tenant
from portal.webhooks.models import DeliveryState, WebhookDelivery, WebhookEndpoint

DELIVERIES_SHOWN = 100


def endpoint_list_for_tenant(*, tenant: Tenant) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(tenant=tenant).select_related("created_by").order_by("created_at", "id")


def endpoint_for_tenant(*, tenant: Tenant, endpoint_id: int) -> WebhookEndpoint | None:
    """The tenant's endpoint with this id, else None (another tenant's endpoint is not found)."""
    return endpoint_list_for_tenant(tenant=tenant).filter(pk=endpoint_id).first()


def endpoints_subscribed_for_tenant(*, tenant_id: int, event_type: str) -> list[WebhookEndpoint]:
    """The tenant's active endpoints that asked for this event (filtered here: JSON containment is not
    portable to SQLite, and a tenant has few endpoints)."""
    return [endpoint for endpoint in WebhookEndpoint.objects.filter(tenant_id=tenant_id, active=True)
            if endpoint.subscribed(event_type)]


def delivery_list_for_endpoint(*, endpoint: WebhookEndpoint, limit: int = DELIVERIES_SHOWN) -> list[WebhookDelivery]:
    return list(WebhookDelivery.objects.filter(endpoint=endpoint).order_by("-created_at", "-id")[:limit])


def delivery_ids_due(*, before: datetime, limit: int) -> list[int]:
    """Pending deliveries due by ``before`` (the index on state and next_attempt_at), soonest first."""
    return list(WebhookDelivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=before)
                .order_by("next_attempt_at").values_list("pk", flat=True)[:limit])


def endpoints_failing_since(*, before: datetime) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(active=True, failing_since__lt=before).select_related("tenant")

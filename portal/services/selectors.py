"""Reads of service data, always scoped by tenant: here, or (the *_lookup querysets) by the access
chokepoint, portal.tenants.access."""

from datetime import datetime

from django.db.models import F, QuerySet

from portal.audit.models import AuditEvent
from portal.services.models import Service
from portal.tenants.models import Tenant


def service_list_for_tenant(*, tenant: Tenant) -> QuerySet[Service]:
    return Service.objects.filter(tenant=tenant, gone_at__isnull=True).order_by("name")


def service_last_sync_for_tenant(*, tenant: Tenant) -> datetime | None:
    latest = (
        Service.objects.filter(tenant=tenant, last_synced_at__isnull=False)
        .order_by("-last_synced_at")
        .values_list("last_synced_at", flat=True)
        .first()
    )
    return latest


def gone_services_for_tenant(*, tenant: Tenant) -> list[Service]:
    """The tenant's deleted services that had a connection: their history stays viewable."""
    return list(Service.objects.filter(tenant=tenant, gone_at__isnull=False).exclude(cloud_vpn_name="")
                .order_by("-gone_at")[:20])


def service_lookup(*, include_gone: bool = False) -> QuerySet[Service]:
    """The services a page may open by IES id, for the access chokepoint (which scopes them to the
    request's tenant): deleted ones only where their history is shown."""
    qs = Service.objects.all()
    return qs if include_gone else qs.filter(gone_at__isnull=True)


def service_lookup_by_connection(*, include_gone: bool = True) -> QuerySet[Service]:
    """As service_lookup, by CloudVpnName: live services first; a deleted one (its history) only
    when no live one has the name."""
    qs = service_lookup(include_gone=include_gone)
    return qs.order_by(F("gone_at").asc(nulls_first=True), "-last_synced_at")


def service_audit_trail(*, tenant: Tenant, service: Service) -> QuerySet[AuditEvent]:
    """What was done to this service, newest first (the audit model's order)."""
    return AuditEvent.objects.filter(tenant=tenant, object_type="service", object_id=service.ies_service_id)


def tenant_activity_list(*, tenant: Tenant) -> QuerySet[AuditEvent]:
    """What was done in this tenant, newest first, with who did it."""
    return AuditEvent.objects.filter(tenant=tenant).select_related("actor")

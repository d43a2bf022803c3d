"""Reads of service data, always scoped by tenant."""

from django.db.models import QuerySet

from portal.services.models import Service
from portal.tenants.models import Tenant


def service_list_for_tenant(*, tenant: Tenant) -> QuerySet[Service]:
    return Service.objects.filter(tenant=tenant, gone_at__isnull=True).order_by("name")


def service_last_sync_for_tenant(*, tenant: Tenant):
    latest = (
        Service.objects.filter(tenant=tenant, last_synced_at__isnull=False)
        .order_by("-last_synced_at")
        .values_list("last_synced_at", flat=True)
        .first()
    )
    return latest

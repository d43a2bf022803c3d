"""Reads of service data, always scoped by tenant."""

from django.db.models import F, QuerySet

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


def service_for_tenant(*, tenant: Tenant, ies_service_id: str, include_gone: bool = False) -> Service | None:
    qs = Service.objects.filter(tenant=tenant, ies_service_id=ies_service_id)
    if not include_gone:
        qs = qs.filter(gone_at__isnull=True)
    return qs.first()


def service_for_tenant_by_connection(*, tenant: Tenant, cloud_vpn_name: str, include_gone: bool = True) -> Service | None:
    """Live services first; a deleted one (its history) only when no live one has the name."""
    qs = Service.objects.filter(tenant=tenant, cloud_vpn_name=cloud_vpn_name)
    if not include_gone:
        qs = qs.filter(gone_at__isnull=True)
    return qs.order_by(F("gone_at").asc(nulls_first=True), "-last_synced_at").first()

"""Background refresh of the service mirror: pages read the mirror and never wait for IES; these
tasks read IES and record how it went (see mirror.py), which the pages then show."""

import logging

from celery import shared_task

from ies_client.errors import IESError
from portal.services import dispatch
from portal.services.mirror import (
    service_list_refresh_record,
    service_mirror_refresh_one,
    service_mirror_sync,
)
from portal.tenants.ies import TenantNotConfigured
from portal.tenants.models import Tenant

log = logging.getLogger(__name__)


@shared_task(name=dispatch.SYNC_TENANT, ignore_result=True)
def sync_tenant_services(tenant_id: int) -> int | None:
    """Refresh one tenant's mirror from IES. Idempotent; returns the number of live services."""
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    if tenant is None:
        return None
    try:
        services = service_mirror_sync(tenant=tenant)
    except (IESError, TenantNotConfigured) as exc:
        if isinstance(exc, IESError):
            log.warning("service sync for tenant %s failed: %s", tenant.name, exc)
        service_list_refresh_record(tenant=tenant, failure=exc)
        return None
    service_list_refresh_record(tenant=tenant)
    return len(services)


@shared_task(name=dispatch.REFRESH_SERVICE, ignore_result=True)
def refresh_service(tenant_id: int, service_pk: int) -> None:
    """Refresh one service and IES's operation log of it (the detail page's background read)."""
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    if tenant is not None:
        service_mirror_refresh_one(tenant=tenant, service_pk=service_pk)


@shared_task(name=dispatch.SYNC_ALL, ignore_result=True)
def sync_all_tenants() -> int:
    """Beat entry point: one task per tenant, so a slow tenant does not hold the others."""
    ids = list(Tenant.objects.filter(is_active=True).exclude(token_encrypted="").values_list("pk", flat=True))
    for tenant_id in ids:
        sync_tenant_services.delay(tenant_id)
    return len(ids)

"""Background refresh of the service mirror, so that pages stay fast and outages show last known."""

import logging

from celery import shared_task

from ies_client.errors import IESError
from portal.services import dispatch
from portal.services.mirror import service_mirror_sync
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
        return len(service_mirror_sync(tenant=tenant))
    except TenantNotConfigured:
        return None
    except IESError as exc:
        log.warning("service sync for tenant %s failed: %s", tenant.name, exc)
        return None


@shared_task(name=dispatch.SYNC_ALL, ignore_result=True)
def sync_all_tenants() -> int:
    """Beat entry point: one task per tenant, so a slow tenant does not hold the others."""
    ids = list(Tenant.objects.filter(is_active=True).exclude(token_encrypted="").values_list("pk", flat=True))
    for tenant_id in ids:
        sync_tenant_services.delay(tenant_id)
    return len(ids)

"""What the service pages read: IES first, the mirror as the fallback."""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _

from ies_client.errors import IESAuthError, IESError
from portal.core.ies_errors import describe
from portal.services.models import Service
from portal.services.selectors import service_last_sync_for_tenant, service_list_for_tenant
from portal.services.services import service_mirror_sync
from portal.tenants.ies import TenantNotConfigured
from portal.tenants.models import Tenant

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceListing:
    services: list[Service]
    live: bool  # True: just read from IES; False: the mirror's last known state
    last_synced_at: datetime | None
    problem: str = ""  # what went wrong, in words for the tenant
    advice: str = ""  # what the tenant can do about it


def service_listing(*, tenant: Tenant) -> ServiceListing:
    try:
        services = service_mirror_sync(tenant=tenant, for_page=True)
        return ServiceListing(services=services, live=True, last_synced_at=service_last_sync_for_tenant(tenant=tenant))
    except (IESError, TenantNotConfigured) as exc:
        if not isinstance(exc, TenantNotConfigured):
            log.warning("IES list failed for tenant %s: %s", tenant.name, type(exc).__name__)
        trouble = describe(exc)
        # A passing IES failure leaves the last known list useful; a token problem needs an admin.
        if isinstance(exc, IESError) and not isinstance(exc, IESAuthError):
            advice = _("The list below is the last one we received. Try again in a minute.")
        else:
            advice = trouble.advice
    return ServiceListing(
        services=list(service_list_for_tenant(tenant=tenant)),
        live=False,
        last_synced_at=service_last_sync_for_tenant(tenant=tenant),
        problem=trouble.problem,
        advice=advice,
    )

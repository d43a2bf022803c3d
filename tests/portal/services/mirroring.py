"""Test setup: the tenants' services mirrored as the background refresh leaves them.

Pages read the mirror and never IES (issue 13): a test that opens a page of services the portal
has not refreshed yet would see "no services known yet". These helpers run the refresh task in the
test's own process, before the test, as a worker would have done by then.
"""

import pytest

from portal.services.models import ServiceListRefresh
from portal.services.tasks import sync_tenant_services
from portal.tenants.models import Tenant


def mirror_tenants(*tenants: Tenant) -> None:
    """Refresh the given tenants' mirrors (every active tenant with a token when none is given),
    skipping any whose list was refreshed already."""
    chosen = tenants or tuple(Tenant.objects.filter(is_active=True).exclude(token_encrypted=""))
    done = set(ServiceListRefresh.objects.filter(tenant__in=chosen, succeeded_at__isnull=False)
               .values_list("tenant_id", flat=True))
    for tenant in chosen:
        if tenant.pk not in done:
            sync_tenant_services(tenant.pk)


def run_refreshes(inline_worker) -> None:
    """Run the background refreshes the pages asked for, in the test's process, as a worker would."""
    inline_worker.run_until(lambda: not inline_worker._due, 60, what="the background refreshes to run")


def make_stale(tenant: Tenant) -> None:
    """Make the tenant's list and services look last refreshed an hour ago: the next view asks."""
    from datetime import timedelta

    from django.utils import timezone

    from portal.services.models import Service

    hour_ago = timezone.now() - timedelta(hours=1)
    ServiceListRefresh.objects.filter(tenant=tenant).update(attempted_at=hour_ago, succeeded_at=hour_ago)
    Service.objects.filter(tenant=tenant).update(last_synced_at=hour_ago, detail_attempted_at=None)


# Fixtures that override the shared ones of the same name (tests/fixtures_portal.py): a test module
# or conftest imports them to start from mirrored tenants.


@pytest.fixture
def presets(presets):
    mirror_tenants()
    return presets


@pytest.fixture
def own_tenant(own_tenant):
    mirror_tenants(own_tenant.tenant)
    return own_tenant

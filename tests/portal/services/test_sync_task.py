"""A real Celery worker, over a real Redis, refreshes the mirror from the live simulator."""

import pytest

from portal.services.models import Service
from portal.services.tasks import sync_all_tenants, sync_tenant_services
from portal.staff.services import presets_load
from portal.tenants.models import Tenant
from tests.portal.conftest import DEMO_PASSWORD, simulator_credentials
from tests.waiting import wait_until


@pytest.mark.django_db(transaction=True)
def test_it_syncs_a_tenant_in_a_real_worker(celery_worker, simulator):
    presets_load(password=DEMO_PASSWORD, credentials=simulator_credentials(simulator))
    tenant = Tenant.objects.get(name="nbitest_14")
    assert not Service.objects.filter(tenant=tenant).exists()
    sync_tenant_services.delay(tenant.pk)
    wait_until(lambda: Service.objects.filter(tenant=tenant).exists(), 20, detail=lambda: celery_worker.output()[-3000:])
    assert Service.objects.get(tenant=tenant).name == "site2dc4_201705071158"


@pytest.mark.django_db(transaction=True)
def test_the_beat_entry_fans_out_one_task_per_tenant(celery_worker, simulator):
    presets_load(password=DEMO_PASSWORD, credentials=simulator_credentials(simulator))
    sync_all_tenants.delay()
    wait_until(lambda: Service.objects.order_by().values("tenant").distinct().count() == 6, 20,
               detail=lambda: celery_worker.output()[-3000:])

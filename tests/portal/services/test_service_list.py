"""My services: the mirror as the background refresh left it (see test_background_refresh.py),
what went wrong when it failed, and only the tenant's own services."""

import pytest

from portal.services.models import Service
from portal.tenants.models import Membership, Role, Tenant
from tests.portal.helpers import post
from tests.portal.services.mirroring import mirror_tenants, run_refreshes

pytestmark = pytest.mark.django_db


def test_it_lists_the_tenants_services_read_from_ies(login):
    page = login("user1").get("/services/")
    assert page.status_code == 200
    assert "s2s_201705061433" in page.text
    assert "VPNS2S201705061433" in page.text
    assert "Site-to-Site" in page.text
    assert "Mbit/s" in page.text
    assert page["Vary"] and "HX-Request" in page["Vary"]


def test_it_shows_only_the_tenants_own_services(login):
    page = login("user2").get("/services/")
    assert "site2dc_201705071132" in page.text
    for other in ("s2s_201705061433", "site2dc3_201705081840", "site2dc6_201705071300"):
        assert other not in page.text
    assert not Service.objects.filter(tenant__name="nbitest_12", name="s2s_201705061433").exists()


def test_it_mirrors_what_it_read(login):
    login("user16").get("/services/")
    mirrored = Service.objects.get(tenant__name="nbitest_16", name="site2dc6_201705071300")
    assert mirrored.cloud_vpn_name == "0S2DC6201705071300"
    assert mirrored.bandwidth_kbps and mirrored.bandwidth_kbps >= 1000
    assert mirrored.last_synced_at is not None


def test_it_shows_the_last_known_list_when_ies_fails(login, sim, inline_worker):
    client = login("user1")
    sim.add_fault(kind="error", status=503, prefix="/rest/servicemanager")
    assert post(client, "/services/").status_code == 302  # "Refresh from IES"
    run_refreshes(inline_worker)  # the background refresh fails
    page = client.get("/services/")
    assert page.status_code == 200
    assert "IES is not answering right now." in page.text
    assert "This is the last known state, as of" in page.text
    assert "s2s_201705061433" in page.text


def test_it_says_when_ies_refuses_the_token(login, sim, inline_worker):
    client = login("user1")
    sim.add_fault(kind="expire_token", tenant="nbitest_11")
    assert post(client, "/services/").status_code == 302
    run_refreshes(inline_worker)
    page = client.get("/services/")
    assert "IES refused the tenant&#x27;s token" in page.text or "IES refused the tenant's token" in page.text


def test_it_shows_an_empty_state_for_a_tenant_without_services(login, sim, django_user_model):
    fresh = sim.new_tenant("acme_empty")
    tenant = Tenant.objects.create(name="acme_empty")
    tenant.set_credentials(token=fresh["token"], bearer=fresh["bearer"])
    tenant.save()
    user = django_user_model.objects.create_user("acme", password="x-long-password-1")
    Membership.objects.create(user=user, tenant=tenant, role=Role.VIEWER)
    from django.test import Client

    client = Client()
    client.force_login(user)
    assert "No services are known yet for this tenant." in client.get("/services/").text  # not asked yet
    mirror_tenants(tenant)
    page = client.get("/services/")
    assert page.status_code == 200
    assert "This tenant has no CloudVPN services yet." in page.text
    assert "read-only" in page.text


def test_it_tells_a_user_without_tenant_what_to_do(login):
    page = login("admin").get("/services/")
    assert page.status_code == 200
    assert "does not belong to any IES tenant" in page.text


def test_it_refuses_a_post_without_its_csrf_token(login):
    assert login("user1").post("/services/").status_code == 403


def test_it_tells_when_a_tenant_has_no_token(login, presets, inline_worker):
    Tenant.objects.filter(name="nbitest_13").update(token_encrypted="", bearer_encrypted="")
    client = login("user5")
    assert post(client, "/services/").status_code == 302
    run_refreshes(inline_worker)
    page = client.get("/services/")
    assert "This tenant has no IES token yet." in page.text

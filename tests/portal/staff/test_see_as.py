""""See as tenant": a staff user looks at a tenant's pages read-only, marked, and it is audited."""

import pytest

from portal.audit.models import AuditEvent
from portal.tenants.access import SESSION_SEE_AS_KEY
from portal.tenants.models import Tenant
from tests.portal.staff.conftest import post

pytestmark = pytest.mark.django_db


def test_it_shows_the_tenants_pages_marked_read_only(staff):
    tenant = Tenant.objects.get(name="nbitest_12")
    answer = post(staff, f"/staff/tenants/{tenant.pk}/see-as/")
    assert answer.status_code == 302 and answer["Location"] == "/services/"
    assert staff.session[SESSION_SEE_AS_KEY] == tenant.pk
    page = staff.get("/services/")
    assert "You are seeing the portal as tenant nbitest_12: read-only." in page.text
    assert "site2dc_201705071132" in page.text
    assert "s2s_201705061433" not in page.text
    # The banner follows the staff user everywhere, the staff pages included.
    assert "Stop seeing as this tenant" in staff.get("/staff/tenants/").text
    event = AuditEvent.objects.get(action="tenant.see_as.start")
    assert (event.actor_name, event.tenant_name) == ("admin", "nbitest_12")


def test_nothing_can_be_changed_while_seeing_as_a_tenant(staff):
    tenant = Tenant.objects.get(name="nbitest_16")
    post(staff, f"/staff/tenants/{tenant.pk}/see-as/")
    assert post(staff, "/catalog/definitions/x/order/").status_code == 403
    assert post(staff, "/operations/1/recheck/").status_code == 403


def test_stopping_returns_to_the_staff_page_and_is_audited(staff):
    tenant = Tenant.objects.get(name="nbitest_12")
    post(staff, f"/staff/tenants/{tenant.pk}/see-as/")
    answer = post(staff, "/staff/see-as/stop/")
    assert answer["Location"] == f"/staff/tenants/{tenant.pk}/"
    assert SESSION_SEE_AS_KEY not in staff.session
    assert "You are seeing the portal as tenant" not in staff.get("/staff/tenants/").text
    assert AuditEvent.objects.filter(action="tenant.see_as.stop", tenant_name="nbitest_12").count() == 1
    # Stopping twice is harmless and records nothing more.
    post(staff, "/staff/see-as/stop/")
    assert AuditEvent.objects.filter(action="tenant.see_as.stop").count() == 1


def test_tenant_users_cannot_see_as_another_tenant(login):
    client = login("user1")
    tenant = Tenant.objects.get(name="nbitest_12")
    assert post(client, f"/staff/tenants/{tenant.pk}/see-as/").status_code == 403
    session = client.session
    session[SESSION_SEE_AS_KEY] = tenant.pk  # even a forged session key does not help a non-staff user
    session.save()
    page = client.get("/services/")
    assert "site2dc_201705071132" not in page.text and "s2s_201705061433" in page.text


def test_it_only_starts_on_post(staff):
    tenant = Tenant.objects.get(name="nbitest_12")
    assert staff.get(f"/staff/tenants/{tenant.pk}/see-as/").status_code == 405
    assert SESSION_SEE_AS_KEY not in staff.session

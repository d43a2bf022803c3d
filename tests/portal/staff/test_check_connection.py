""""Check connection" asks IES with the tenant's own token and says what it found."""

import pytest
from cryptography.fernet import Fernet

from portal.audit.models import AuditEvent, Outcome
from portal.tenants.models import Tenant
from tests.fixtures_simulator import free_port
from tests.portal.staff.conftest import post

pytestmark = pytest.mark.django_db


def _check(staff, name: str):
    tenant = Tenant.objects.get(name=name)
    page = post(staff, f"/staff/tenants/{tenant.pk}/check/", follow=True)
    assert page.status_code == 200
    assert page.redirect_chain[-1][0] == f"/staff/tenants/{tenant.pk}/"
    return page.text


def test_it_reports_ok_with_the_number_of_services(staff, sim):
    text = _check(staff, "nbitest_11")
    assert "Connection OK: IES lists 1 service for nbitest_11." in text
    event = AuditEvent.objects.get(action="tenant.check_connection")
    assert event.outcome == Outcome.SUCCEEDED and event.after == {"services": 1} and event.actor_name == "admin"


def test_it_reports_a_bad_token(staff, sim):
    sim.add_fault(kind="expire_token", tenant="nbitest_11")
    text = _check(staff, "nbitest_11")
    assert "IES refused the token" in text
    event = AuditEvent.objects.get(action="tenant.check_connection")
    assert event.outcome == Outcome.FAILED and event.message.startswith("bad_token")


def test_it_reports_ies_unreachable_when_the_connection_drops(staff, sim):
    rule = sim.add_fault(kind="drop", prefix="/rest/servicemanager", count=10)
    text = _check(staff, "nbitest_12")
    assert "IES is unreachable" in text
    # It gives up quickly: one try, as a page's read is not retried (IES_PAGE_RETRIES), counted by
    # the rule (not timed).
    assert [f["count"] for f in sim.faults() if f["id"] == rule] == [9]
    assert AuditEvent.objects.get(action="tenant.check_connection").message.startswith("unreachable")


def test_it_reports_ies_unreachable_on_a_closed_port(staff, sim):
    Tenant.objects.filter(name="nbitest_12").update(ies_base_url=f"http://127.0.0.1:{free_port()}/rest")
    text = _check(staff, "nbitest_12")
    assert "IES is unreachable" in text  # a refused connection; the retries are counted above


def test_it_reports_a_tenant_without_credentials(staff):
    Tenant.objects.create(name="empty_1")
    text = _check(staff, "empty_1")
    assert "no complete IES credentials" in text


def test_it_reports_a_stored_base_url_that_is_not_an_ies_url(staff):
    Tenant.objects.filter(name="nbitest_12").update(ies_base_url="http://127.0.0.1:1/api")
    text = _check(staff, "nbitest_12")
    assert "The IES base URL is not valid." in text


def test_it_reports_a_token_the_key_ring_cannot_read(staff, settings):
    settings.TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    text = _check(staff, "nbitest_12")
    assert "cannot be decrypted" in text


def test_it_only_answers_post(staff):
    tenant = Tenant.objects.get(name="nbitest_11")
    assert staff.get(f"/staff/tenants/{tenant.pk}/check/").status_code == 405

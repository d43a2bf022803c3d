"""The audit log, a tenant's activity and the staff lists as people read them: translated action
names and changes with units ("Bandwidth 60 → 80 Mbit/s"), no raw codes or Python reprs, and names
in the order people count (user2 before user10)."""

import pytest
from playwright.sync_api import expect

from portal.audit.models import Outcome
from portal.audit.services import audit_record
from portal.tenants.models import Tenant
from tests.e2e.helpers import log_in, switch_to_chinese

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def bandwidth_change(presets):
    """What a bandwidth change of user16's service records (the shape service_change_bandwidth gives)."""
    from django.contrib.auth import get_user_model

    tenant = Tenant.objects.get(name="nbitest_16")
    audit_record(action="service.modify", actor=get_user_model().objects.get(username="user16"), tenant=tenant,
                 object_type="service", object_id="BkLfGSbKQXybr0kkj8MQTQ", object_label="site2dc6_201705071300",
                 before={"bandwidth_kbps": 60000},
                 after={"bandwidth_kbps": 80000, "cloud_vpn_name": "0S2DC6201705071300", "list_key": "Site2DCList"},
                 outcome=Outcome.SUCCEEDED)
    audit_record(action="tenant.token.replace", tenant=tenant, obj=tenant, before={"token": "…abcd", "bearer": "…x"},
                 after={"token": "…wxyz", "bearer": "…x"}, outcome=Outcome.SUCCEEDED)


def test_the_audit_log_reads_as_words_in_english_and_chinese(page, live_server, bandwidth_change):
    log_in(page, live_server.url, "admin")
    page.goto(live_server.url + "/staff/audit/?tenant=nbitest_16")
    table = page.get_by_role("table")
    row = table.get_by_role("row").filter(has_text="site2dc6_201705071300")
    expect(row).to_contain_text("Changed bandwidth")
    expect(row).to_contain_text("Bandwidth 60 → 80 Mbit/s")
    expect(table.get_by_role("row").filter(has_text="Replaced IES credentials")).to_contain_text("Token changed")
    for raw in ("service.modify", "tenant.token.replace", "bandwidth_kbps", "{'", "list_key", "…wxyz"):
        expect(table).not_to_contain_text(raw)

    switch_to_chinese(page)
    row = page.get_by_role("table").get_by_role("row").filter(has_text="site2dc6_201705071300")
    expect(row).to_contain_text("修改带宽")
    expect(row).to_contain_text("带宽 60 → 80 Mbit/s")
    page.get_by_role("button", name="English").click()


def test_the_tenant_activity_reads_as_words(page, live_server, bandwidth_change):
    log_in(page, live_server.url, "user16")
    page.goto(live_server.url + "/services/activity/")
    row = page.get_by_role("row").filter(has_text="site2dc6_201705071300")
    expect(row).to_contain_text("Changed bandwidth")
    expect(row).to_contain_text("Bandwidth 60 → 80 Mbit/s")
    expect(page.get_by_role("table")).not_to_contain_text("service.modify")


def test_staff_lists_count_naturally(page, live_server, presets):
    Tenant.objects.create(name="nbitest_9")
    log_in(page, live_server.url, "admin")
    page.goto(live_server.url + "/staff/users/")
    names = page.locator("table tbody tr td:first-child a").all_inner_texts()
    numbered = [name for name in names if name.startswith("user")]
    assert numbered == [f"user{n}" for n in range(1, 17)]
    page.goto(live_server.url + "/staff/tenants/")
    tenants = page.locator("table tbody tr td:first-child a").all_inner_texts()
    assert tenants[:3] == ["nbitest_9", "nbitest_11", "nbitest_12"]

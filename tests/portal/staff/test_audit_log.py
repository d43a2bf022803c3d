"""The audit log page: every event, filterable, paginated, exportable as formula-safe CSV."""

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from portal.audit.models import AuditEvent, Outcome
from portal.audit.services import audit_record
from portal.tenants.models import Tenant
from tests.portal.staff.conftest import post

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(presets):
    AuditEvent.objects.all().delete()
    t11, t12 = Tenant.objects.get(name="nbitest_11"), Tenant.objects.get(name="nbitest_12")
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    audit_record(action="service.create", actor=users.get(username="user1"), tenant=t11, outcome=Outcome.SUCCEEDED,
                 object_label="s2s_new")
    audit_record(action="service.modify", actor=users.get(username="user2"), tenant=t12, outcome=Outcome.FAILED,
                 object_label="site2dc_x", message='=HYPERLINK("http://evil","click")')
    audit_record(action="tenant.update", actor=users.get(username="admin"), tenant=t12, outcome=Outcome.SUCCEEDED,
                 object_label="@SUM(1+1)")
    old = audit_record(action="tenant.create", actor=users.get(username="admin"), tenant=t11,
                       outcome=Outcome.SUCCEEDED)
    AuditEvent.objects.filter(pk=old.pk).update(at=timezone.now() - dt.timedelta(days=40))


def _rows(page) -> list[str]:
    body = page.text.split("<tbody>")[1].split("</tbody>")[0] if "<tbody>" in page.text else ""
    return [chunk for chunk in body.split("<tr ")[1:]]


def test_it_lists_every_event_newest_first(staff, events):
    page = staff.get("/staff/audit/")
    assert page.status_code == 200
    rows = _rows(page)
    assert len(rows) == 4
    assert "tenant.update" in rows[0] and "tenant.create" in rows[-1]


@pytest.mark.parametrize(("query", "expected"), [
    ("tenant=nbitest_12", {"service.modify", "tenant.update"}),
    ("user=user", {"service.create", "service.modify"}),
    ("action=tenant.", {"tenant.update", "tenant.create"}),
    ("action=service.create", {"service.create"}),
    ("outcome=failed", {"service.modify"}),
    (f"date_from={(timezone.localdate() - dt.timedelta(days=1)).isoformat()}",
     {"service.create", "service.modify", "tenant.update"}),
    (f"date_to={(timezone.localdate() - dt.timedelta(days=30)).isoformat()}", {"tenant.create"}),
    ("tenant=nbitest_12&outcome=succeeded", {"tenant.update"}),
])
def test_it_filters(staff, events, query, expected):
    rows = _rows(staff.get(f"/staff/audit/?{query}"))
    found = {action for row in rows for action in ("service.create", "service.modify", "tenant.update",
                                                     "tenant.create") if f'data-action="{action}"' in row}
    assert found == expected and len(rows) == len(expected)


def test_it_paginates(staff, events):
    for n in range(60):
        audit_record(action="bulk.thing", message=f"event {n}")
    first = staff.get("/staff/audit/?action=bulk.")
    assert len(_rows(first)) == 50 and "Page 1 of 2 (60 events)" in first.text
    assert "?action=bulk.&amp;page=2" in first.text
    second = staff.get("/staff/audit/?action=bulk.&page=2")
    assert len(_rows(second)) == 10


def test_it_exports_the_filtered_events_as_formula_safe_csv(staff, events):
    answer = staff.get("/staff/audit/export.csv?tenant=nbitest_12")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
    assert "attachment" in answer["Content-Disposition"]
    text = b"".join(answer.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["when", "who", "tenant", "action"]
    assert len(rows) == 3
    cells = [cell for row in rows for cell in row]
    assert "'=HYPERLINK(\"http://evil\",\"click\")" in cells and "'@SUM(1+1)" in cells
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    assert AuditEvent.objects.filter(action="audit.export", actor_name="admin").exists()


def test_staff_actions_and_tenant_actions_land_in_the_log(staff, login):
    tenant = Tenant.objects.get(name="nbitest_16")
    post(staff, f"/staff/tenants/{tenant.pk}/see-as/")
    post(staff, "/staff/see-as/stop/")
    page = staff.get("/staff/audit/?tenant=nbitest_16")
    assert "tenant.see_as.start" in page.text and "tenant.see_as.stop" in page.text


def test_a_bad_date_is_reported_not_fatal(staff, events):
    page = staff.get("/staff/audit/?date_from=yesterday")
    assert page.status_code == 200 and "Enter a valid date." in page.text

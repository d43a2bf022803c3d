"""Users: create, enable/disable, reset password (typed or generated and shown once), memberships."""

import logging

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from portal.audit.models import AuditEvent
from portal.tenants.models import Membership, Role, Tenant
from tests.portal.conftest import DEMO_PASSWORD
from tests.portal.staff.conftest import post

pytestmark = pytest.mark.django_db
User = get_user_model()


def _generated_password(page) -> str:
    marker = 'id="generated-password">'
    start = page.text.index(marker) + len(marker)
    return page.text[start:page.text.index("<", start)]


def test_it_lists_users_with_their_tenants_and_roles(staff):
    page = staff.get("/staff/users/?q=nbitest_12")
    assert page.status_code == 200
    for name in ("user2", "user3", "user4"):
        assert f">{name}</a>" in page.text
    assert ">user1</a>" not in page.text
    assert "No user matches." in staff.get("/staff/users/?status=disabled").text


def test_it_creates_a_user_with_a_generated_password_shown_once(staff, caplog):
    caplog.set_level(logging.DEBUG)
    tenant = Tenant.objects.get(name="nbitest_14")
    page = post(staff, "/staff/users/new/", {"username": "carol", "email": "carol@example.com", "generate": "on",
                                             "tenant": tenant.pk, "role": "viewer"})
    assert page.status_code == 200
    assert page["Cache-Control"].startswith("max-age=0") or "no-store" in page["Cache-Control"]
    password = _generated_password(page)
    assert len(password) >= 16
    carol = User.objects.get(username="carol")
    assert carol.check_password(password)
    assert Membership.objects.get(user=carol, tenant=tenant).role == Role.VIEWER
    assert Client().login(username="carol", password=password)
    # Shown once: not in the next page, the audit trail or the logs.
    assert password not in staff.get(f"/staff/users/{carol.pk}/").text
    assert not AuditEvent.objects.filter(message__contains=password).exists()
    assert password not in str(list(AuditEvent.objects.values_list("after", flat=True)))
    assert password not in "\n".join(r.getMessage() for r in caplog.records)


def test_it_creates_a_user_with_a_typed_password(staff):
    answer = post(staff, "/staff/users/new/", {"username": "dave", "password1": "a-Long-passphrase-42",
                                               "password2": "a-Long-passphrase-42", "role": "member"})
    assert answer.status_code == 302
    assert User.objects.get(username="dave").check_password("a-Long-passphrase-42")


def test_it_refuses_weak_mismatched_or_duplicate(staff):
    weak = post(staff, "/staff/users/new/", {"username": "erin", "password1": "123", "password2": "123",
                                             "role": "member"})
    assert weak.status_code == 400 and 'value="123"' not in weak.text
    assert post(staff, "/staff/users/new/", {"username": "erin", "password1": "a-Long-passphrase-42",
                                             "password2": "other-Long-pass-42", "role": "member"}).status_code == 400
    assert post(staff, "/staff/users/new/", {"username": "user1", "generate": "on", "role": "member"}
                ).status_code == 400
    assert not User.objects.filter(username="erin").exists()


def test_it_disables_and_enables_a_login_and_ends_open_sessions(staff, login):
    user1 = login("user1")
    assert user1.get("/services/").status_code == 200
    target = User.objects.get(username="user1")
    assert post(staff, f"/staff/users/{target.pk}/active/", {"active": "0"}).status_code == 302
    target.refresh_from_db()
    assert target.is_active is False
    answer = user1.get("/services/")
    assert answer.status_code == 302 and "/login/" in answer["Location"]
    assert not Client().login(username="user1", password=DEMO_PASSWORD)
    post(staff, f"/staff/users/{target.pk}/active/", {"active": "1"})
    assert Client().login(username="user1", password=DEMO_PASSWORD)
    # The staff's two changes, each audited once (the logins around them are audited as auth.* events).
    actions = list(AuditEvent.objects.filter(object_id=str(target.pk), object_type="auth.user")
                   .exclude(action__startswith="auth.").values_list("action", flat=True))
    assert sorted(actions) == ["user.disable", "user.enable"]


def test_an_admin_cannot_disable_themselves(staff):
    me = User.objects.get(username="admin")
    page = post(staff, f"/staff/users/{me.pk}/active/", {"active": "0"}, follow=True)
    assert "cannot disable your own account" in page.text
    me.refresh_from_db()
    assert me.is_active


def test_it_resets_a_password_to_a_generated_one(staff, login):
    old_session = login("user5")
    target = User.objects.get(username="user5")
    page = post(staff, f"/staff/users/{target.pk}/password/", {"generate": "on"})
    password = _generated_password(page)
    assert Client().login(username="user5", password=password)
    assert not Client().login(username="user5", password=DEMO_PASSWORD)
    assert old_session.get("/services/").status_code == 302  # the old session ended
    event = AuditEvent.objects.get(action="user.password.reset")
    assert event.message == "generated" and password not in str(event.__dict__)


def test_it_resets_a_password_to_a_typed_one(staff):
    target = User.objects.get(username="user6")
    answer = post(staff, f"/staff/users/{target.pk}/password/",
                  {"password1": "Another-passphrase-77", "password2": "Another-passphrase-77"})
    assert answer.status_code == 302
    assert Client().login(username="user6", password="Another-passphrase-77")
    bad = post(staff, f"/staff/users/{target.pk}/password/", {"password1": "user6", "password2": "user6"})
    assert bad.status_code == 400 and 'value="user6"' not in bad.text


def test_it_adds_a_user_to_a_tenant_from_the_user_page(staff):
    target = User.objects.get(username="user7")
    tenant = Tenant.objects.get(name="nbitest_16")
    page = staff.get(f"/staff/users/{target.pk}/")
    assert "nbitest_13" in page.text
    assert post(staff, f"/staff/users/{target.pk}/memberships/add/", {"tenant": tenant.pk, "role": "viewer"}
                ).status_code == 302
    assert Membership.objects.get(user=target, tenant=tenant).role == Role.VIEWER
    # Already a member: the tenant is no longer offered.
    again = post(staff, f"/staff/users/{target.pk}/memberships/add/", {"tenant": tenant.pk, "role": "member"})
    assert again.status_code == 400


def test_a_user_of_several_tenants_can_switch_but_a_viewer_stays_read_only(staff, login):
    target = User.objects.get(username="user7")
    tenant = Tenant.objects.get(name="nbitest_16")
    post(staff, f"/staff/users/{target.pk}/memberships/add/", {"tenant": tenant.pk, "role": "viewer"})
    client = login("user7")
    post(client, "/tenant/switch/", {"tenant": tenant.pk})
    assert post(client, "/catalog/definitions/x/order/").status_code == 403

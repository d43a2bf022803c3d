"""Every change to a user or a membership reaches the audit log once, whatever made it (issue 13,
defect 6): the staff pages record their own (with who did it), every other path (the shell, a
management command) is recorded by the model receivers, without an actor."""

import pytest
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from portal.audit.models import AuditEvent
from portal.audit.receivers import OUTSIDE_THE_PORTAL
from portal.tenants.models import Membership, Role, Tenant
from tests.portal.conftest import DEMO_PASSWORD
from tests.portal.staff.conftest import post

pytestmark = pytest.mark.django_db


def events(**filters) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(**filters).order_by("pk"))


def test_a_user_made_in_the_shell_is_audited_once():
    user = User.objects.create_user("shelly", email="s@example.com", password="Long-enough-pass-1")
    [event] = events(object_type="auth.user", object_id=str(user.pk))
    assert event.action == "user.create" and event.actor is None and event.message == OUTSIDE_THE_PORTAL
    assert event.after == {"username": "shelly", "email": "s@example.com", "is_active": True, "is_staff": False,
                           "is_superuser": False}


def test_a_superuser_made_by_the_command_is_audited(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "Long-enough-pass-1")
    call_command("createsuperuser", "--no-input", "--username", "boss", "--email", "b@example.com")
    [event] = events(action="user.create", object_label="boss")
    assert event.after["is_superuser"] is True


def test_granting_superuser_in_the_shell_is_audited_with_before_and_after():
    user = User.objects.create_user("plain", password="Long-enough-pass-1")
    user.is_staff = user.is_superuser = True
    user.save()
    [event] = events(action="user.update")
    assert event.before == {"is_staff": False, "is_superuser": False}
    assert event.after == {"is_staff": True, "is_superuser": True}
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert [e.action for e in events(object_id=str(user.pk))] == ["user.create", "user.update", "user.disable"]


def test_a_password_change_is_audited_without_the_password():
    user = User.objects.create_user("pw", password="Long-enough-pass-1")
    user.set_password("Another-long-pass-2")
    user.save()
    [event] = events(action="user.password.change")
    assert event.object_label == "pw" and event.before is None and event.after is None
    assert "Another-long-pass-2" not in str(event.__dict__) and user.password not in str(event.__dict__)


def test_logging_in_records_no_user_change(presets):
    before = AuditEvent.objects.count()
    client = Client()
    answer = client.post("/login/", {"username": "user1", "password": DEMO_PASSWORD})
    assert answer.status_code == 302
    # The login itself is audited (auth.login), no change to the user is.
    assert list(AuditEvent.objects.order_by("pk")[before:].values_list("action", flat=True)) == ["auth.login"]


def test_deleting_a_user_in_the_shell_is_audited_with_their_memberships():
    tenant = Tenant.objects.create(name="t-del")
    user = User.objects.create_user("gone", password="Long-enough-pass-1")
    Membership.objects.create(user=user, tenant=tenant, role=Role.VIEWER)
    user_id = user.pk
    user.delete()
    assert [e.action for e in events(action__in=["user.delete", "membership.delete"])] == [
        "membership.delete", "user.delete"]
    deleted = events(action="user.delete")[0]
    assert deleted.object_id == str(user_id) and deleted.before["username"] == "gone"
    assert events(action="membership.delete")[0].before == {"user": "gone", "role": "viewer"}


def test_membership_changes_in_the_shell_are_audited():
    tenant = Tenant.objects.create(name="t-mem")
    user = User.objects.create_user("mem", password="Long-enough-pass-1")
    membership = Membership.objects.create(user=user, tenant=tenant)
    membership.role = Role.VIEWER
    membership.save()
    membership.save()  # no change: no event
    membership.delete()
    assert [(e.action, e.tenant_name) for e in events(object_type="tenants.membership")] == [
        ("membership.create", "t-mem"), ("membership.role.change", "t-mem"), ("membership.delete", "t-mem")]
    assert events(action="membership.role.change")[0].after == {"role": "viewer"}


def test_deleting_a_tenant_with_members_still_commits(transactional_db):
    tenant = Tenant.objects.create(name="t-gone")
    Membership.objects.create(user=User.objects.create_user("m1"), tenant=tenant)
    tenant.delete()  # on commit: the event does not point at the deleted tenant
    [event] = events(action="membership.delete")
    assert event.tenant is None


def test_deleting_tenants_by_queryset_still_commits(transactional_db):
    """A queryset's delete (the shell, a test's cleanup) hands the receiver the queryset, not a tenant."""
    tenant = Tenant.objects.create(name="t-gone-too")
    Membership.objects.create(user=User.objects.create_user("m2"), tenant=tenant)
    Tenant.objects.filter(name="t-gone-too").delete()
    [event] = events(action="membership.delete")
    assert event.tenant is None


def test_a_change_on_the_staff_pages_is_audited_exactly_once(login):
    staff = login("admin")
    answer = post(staff, "/staff/users/new/", {"username": "fresh", "email": "", "password1": "Long-enough-pass-1",
                                               "password2": "Long-enough-pass-1", "role": Role.MEMBER})
    assert answer.status_code == 302, answer.content[:500]
    user = User.objects.get(username="fresh")
    [created] = events(object_type="auth.user", object_id=str(user.pk))
    assert created.action == "user.create" and created.actor_name == "admin" and created.message == ""
    membership = Membership.objects.filter(user__username="user1").first()
    post(staff, f"/staff/memberships/{membership.pk}/role/", {"role": Role.VIEWER})
    [changed] = events(action="membership.role.change")
    assert changed.actor_name == "admin"
    post(staff, f"/staff/users/{user.pk}/password/", {"password1": "Another-long-pass-2",
                                                               "password2": "Another-long-pass-2"})
    assert [e.action for e in events(object_id=str(user.pk), object_type="auth.user")] == [
        "user.create", "user.password.reset"]


def test_a_new_hash_saved_alone_is_a_password_change_not_an_upgrade():
    """`user.password = make_password(x); user.save(update_fields=["password"])` has the shape of
    Django's re-hash at login, but the old hash was current: it is a new password."""
    user = User.objects.create_user("sneaky", password="Long-enough-pass-1")
    user.password = make_password("Another-long-pass-2")
    user.save(update_fields=["password"])
    assert [e.action for e in events(object_label="sneaky")] == ["user.create", "user.password.change"]


def test_a_hash_upgraded_at_login_is_not_a_password_change(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher",
                                 "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher"]
    user = User.objects.create_user("old-hash")
    User.objects.filter(pk=user.pk).update(password=make_password("Long-enough-pass-1", hasher="pbkdf2_sha1"))
    answer = Client().post("/login/", {"username": "old-hash", "password": "Long-enough-pass-1"})
    assert answer.status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("md5$")  # re-hashed with the preferred hasher
    assert [e.action for e in events(object_label="old-hash")] == ["user.create", "auth.login"]

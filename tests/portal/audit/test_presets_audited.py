"""Loading the presets again (load_presets) changes existing users only in ways it records, one event
per change, and leaves a user staff disabled disabled unless asked (review of issue 13)."""

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from portal.audit.models import AuditEvent
from portal.staff.services import presets_load, user_set_active

pytestmark = pytest.mark.django_db


def events_about(username: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(object_type="auth.user", object_label=username).order_by("pk"))


def test_a_user_staff_disabled_stays_disabled(presets, tmp_path):
    admin = User.objects.get(username="admin")
    user_set_active(user=User.objects.get(username="user1"), active=False, actor=admin)
    before = len(events_about("user1"))
    call_command("load_presets", "--no-simulator-tokens", password_file=str(tmp_path / "pw"))
    assert not User.objects.get(username="user1").is_active
    assert len(events_about("user1")) == before


def test_re_enabling_on_request_is_recorded(presets, tmp_path):
    admin = User.objects.get(username="admin")
    user_set_active(user=User.objects.get(username="user1"), active=False, actor=admin)
    call_command("load_presets", "--no-simulator-tokens", "--enable-users", password_file=str(tmp_path / "pw"))
    assert User.objects.get(username="user1").is_active
    event = events_about("user1")[-1]
    assert event.action == "user.enable" and event.after == {"is_active": True} and event.message == "load_presets"


def test_granting_superuser_and_resetting_passwords_are_recorded_per_user(presets):
    admin = User.objects.get(username="admin")
    admin.is_superuser = False
    admin.save()
    AuditEvent.objects.all().delete()
    presets_load(password="Brand-new-pass-42", reset_passwords=True)
    [granted] = AuditEvent.objects.filter(action="user.update", object_label="admin")
    assert granted.before == {"is_superuser": False} and granted.after == {"is_superuser": True}
    resets = AuditEvent.objects.filter(action="user.password.reset", message="load_presets")
    assert resets.count() == 17  # user1…user16 and admin
    assert "Brand-new-pass-42" not in str(list(AuditEvent.objects.values()))
    assert User.objects.get(username="user7").check_password("Brand-new-pass-42")

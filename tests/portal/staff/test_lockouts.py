"""The staff page of locked logins (issue 13, defect 4): staff see which accounts and addresses the
throttle holds, and lift a lock; lifting it, like the lockout itself, is in the audit log."""

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.tenants.throttle import lockout_for_account
from tests.portal.conftest import DEMO_PASSWORD
from tests.portal.staff.conftest import post

pytestmark = pytest.mark.django_db


def fail_logins(username: str, times: int, address: str = "203.0.113.40") -> None:
    for _ in range(times):
        Client().post("/login/", {"username": username, "password": "wrong"}, REMOTE_ADDR=address)


def can_log_in(username: str, address: str = "203.0.113.40") -> bool:
    answer = Client().post("/login/", {"username": username, "password": DEMO_PASSWORD}, REMOTE_ADDR=address)
    return answer.status_code == 302


def test_staff_see_a_locked_account_and_unlock_it(staff):
    fail_logins("user1", 5)
    assert not can_log_in("user1")
    page = staff.get("/staff/lockouts/")
    assert page.status_code == 200
    assert "<code>user1</code>" in page.text and "Unlock" in page.text
    user1 = User.objects.get(username="user1")
    detail = staff.get(f"/staff/users/{user1.pk}/")
    assert "Locked out after 5 failed logins" in detail.text
    answer = post(staff, "/staff/lockouts/unlock/", {"scope": "account", "key": "user1",
                                                      "next": f"/staff/users/{user1.pk}/"})
    assert answer.status_code == 302 and answer["Location"] == f"/staff/users/{user1.pk}/"
    assert can_log_in("user1")
    [event] = AuditEvent.objects.filter(action="auth.unlock")
    assert event.actor_name == "admin" and event.object_type == "auth.user" and event.object_id == str(user1.pk)
    assert AuditEvent.objects.filter(action="auth.lockout", object_label="user1").count() == 1
    assert "Locked out after" not in staff.get(f"/staff/users/{user1.pk}/").text


def test_staff_unlock_an_address(staff):
    for number in range(20):
        fail_logins(f"nobody{number}", 1, address="198.51.100.99")
    assert not can_log_in("user2", address="198.51.100.99")
    page = staff.get("/staff/lockouts/")
    assert "<code>198.51.100.99</code>" in page.text
    post(staff, "/staff/lockouts/unlock/", {"scope": "address", "key": "198.51.100.99"})
    assert can_log_in("user2", address="198.51.100.99")
    event = AuditEvent.objects.get(action="auth.unlock")
    assert event.object_label == "198.51.100.99" and event.before == {"locked": ["address"]}
    assert "No account or address is locked out." in staff.get("/staff/lockouts/").text


def test_the_audit_log_reads_the_lockout_and_the_unlock(staff):
    fail_logins("user1", 5)
    post(staff, "/staff/lockouts/unlock/", {"scope": "account", "key": "user1"})
    page = staff.get("/staff/audit/")
    assert "Locked out after failed logins" in page.text and "Unlocked logins" in page.text
    assert "Locked: the account" in page.text


def test_only_staff_may_see_or_lift_lockouts(login):
    fail_logins("user2", 5)
    user1 = login("user1")
    assert user1.get("/staff/lockouts/").status_code == 403
    assert post(user1, "/staff/lockouts/unlock/", {"scope": "account", "key": "user2"}).status_code == 403
    assert not can_log_in("user2")


def test_unlock_wants_post_and_csrf(staff):
    assert staff.get("/staff/lockouts/unlock/").status_code == 405
    answer = staff.post("/staff/lockouts/unlock/", {"scope": "account", "key": "user1"})
    assert answer.status_code == 403


def test_a_nonsense_unlock_changes_nothing(staff):
    page = post(staff, "/staff/lockouts/unlock/", {"scope": "everything", "key": "x"}, follow=True)
    assert "Choose a lockout to lift." in page.text
    assert not AuditEvent.objects.filter(action="auth.unlock").exists()


def test_unlocking_what_is_not_locked_records_nothing(staff):
    page = post(staff, "/staff/lockouts/unlock/", {"scope": "account", "key": "user3"}, follow=True)
    assert "user3 was not locked out." in page.text
    assert not AuditEvent.objects.filter(action="auth.unlock").exists()


def test_locked_until_is_when_the_count_drops_below_the_limit(staff):
    """Three failures from one browser, two from another: the lock lapses when the older row ages
    out of the cool-off (2 left), not a cool-off after the last failure."""
    for agent, times in (("browser-a", 3), ("browser-b", 2)):
        for _ in range(times):
            Client().post("/login/", {"username": "user1", "password": "wrong"}, REMOTE_ADDR="203.0.113.40",
                          HTTP_USER_AGENT=agent)
    now = timezone.now()
    AccessAttempt.objects.filter(user_agent="browser-a").update(attempt_time=now - dt.timedelta(minutes=10))
    AccessAttempt.objects.filter(user_agent="browser-b").update(attempt_time=now - dt.timedelta(minutes=1))
    lock = lockout_for_account("user1")
    assert lock is not None and lock.failures == 5
    assert abs(lock.until - (now + dt.timedelta(minutes=5))) < dt.timedelta(seconds=1)
    assert not can_log_in("user1")
    # And it does lapse then.
    AccessAttempt.objects.filter(user_agent="browser-a").update(
        attempt_time=now - dt.timedelta(minutes=15, seconds=1))
    assert lockout_for_account("user1") is None
    assert can_log_in("user1")


def test_a_stranger_cannot_undo_a_staff_unlock(staff):
    """After staff lift the lock, the same guesser failing again locks only itself out."""
    fail_logins("admin", 5, address="198.51.100.66")
    post(staff, "/staff/lockouts/unlock/", {"scope": "account", "key": "admin"})
    fail_logins("admin", 5, address="198.51.100.66")
    assert not can_log_in("admin", address="198.51.100.66")
    assert can_log_in("admin", address="203.0.113.41")

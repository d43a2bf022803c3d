"""Login throttling (issue 13, defect 4): wrong passwords lock an account, and an address, for a while;
the right password is refused meanwhile, on the portal's login page and on /admin/login/ alike."""

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.test import Client, override_settings
from django.utils import timezone

from portal.audit.models import AuditEvent
from tests.portal.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.django_db

LOCKED_TEXT = "paused for 15 minutes"


def attempt(username: str, password: str, *, address: str = "203.0.113.5", url: str = "/login/",
            client: Client | None = None, **headers):
    return (client or Client()).post(url, {"username": username, "password": password}, REMOTE_ADDR=address,
                                     **headers)


def logged_in(answer) -> bool:
    return answer.status_code == 302 and "_auth_user_id" in answer.client.session


def test_it_refuses_the_right_password_after_50_wrong_ones(presets):
    for _ in range(50):
        assert attempt("user1", "wrong-guess").status_code in (200, 429)
    answer = attempt("user1", DEMO_PASSWORD)
    assert answer.status_code == 429
    assert not logged_in(answer)
    assert LOCKED_TEXT in answer.text and "ask an administrator" in answer.text
    assert 'name="password"' not in answer.text  # the portal's page, without a form to guess again on
    assert "CloudVPN Portal" in answer.text


def test_it_locks_the_account_after_five_failures_from_anywhere(presets):
    for number in range(4):
        assert attempt("user1", "wrong", address=f"198.51.100.{number}").status_code == 200
    assert attempt("user1", "wrong", address="198.51.100.4").status_code == 429
    # Many addresses at one account: a fresh address does not help, the right password does not either.
    assert attempt("user1", DEMO_PASSWORD, address="192.0.2.200").status_code == 429
    # Another account is not touched.
    assert logged_in(attempt("user2", DEMO_PASSWORD, address="198.51.100.4"))


def test_it_locks_an_address_that_tries_many_accounts(presets):
    for number in range(20):
        attempt(f"nobody{number}", "guess", address="203.0.113.66")
    answer = attempt("user3", DEMO_PASSWORD, address="203.0.113.66")
    assert answer.status_code == 429 and not logged_in(answer)
    # The same account from elsewhere logs in: only the address is locked.
    assert logged_in(attempt("user3", DEMO_PASSWORD, address="203.0.113.67"))


def test_admin_login_is_throttled_too(presets):
    for _ in range(50):
        attempt("admin", "wrong-guess", url="/admin/login/")
    answer = attempt("admin", DEMO_PASSWORD, url="/admin/login/")
    assert answer.status_code == 429 and not logged_in(answer)
    assert LOCKED_TEXT in answer.text
    # And a lock set on the admin's login holds on the portal's (one account, one count).
    assert attempt("admin", DEMO_PASSWORD).status_code == 429


def test_the_lockout_page_is_translated(presets):
    for _ in range(5):
        attempt("user1", "wrong", HTTP_ACCEPT_LANGUAGE="zh-hans")
    answer = attempt("user1", DEMO_PASSWORD, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert answer.status_code == 429
    assert '<html lang="zh-hans">' in answer.text
    assert "登录失败次数过多" in answer.text and "15 分钟" in answer.text


def test_a_successful_login_forgets_that_accounts_failures(presets):
    for _ in range(4):
        attempt("user1", "wrong")
    assert logged_in(attempt("user1", DEMO_PASSWORD))
    for _ in range(4):
        attempt("user1", "wrong")
    assert logged_in(attempt("user1", DEMO_PASSWORD))


def test_logging_in_to_ones_own_account_does_not_reset_the_addresss_count(presets):
    """Whoever holds one account must not reset the count of their guesses at the others."""
    for number in range(19):
        attempt(f"user{4 + number % 8}", "guess", address="203.0.113.9")
        if number % 3 == 0:
            attempt("user1", DEMO_PASSWORD, address="203.0.113.9")
    attempt("user12", "guess", address="203.0.113.9")
    assert attempt("user1", DEMO_PASSWORD, address="203.0.113.9").status_code == 429


def test_the_lock_ends_after_the_cool_off_and_refused_attempts_do_not_extend_it(presets):
    for _ in range(5):
        attempt("user1", "wrong")
    for _ in range(10):  # while locked: refused, not counted
        assert attempt("user1", "wrong").status_code == 429
    assert AccessAttempt.objects.get(username="user1").failures_since_start == 5
    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=16))
    assert logged_in(attempt("user1", DEMO_PASSWORD))


def test_a_lockout_is_audited_once(presets):
    for _ in range(50):
        attempt("user1", "wrong", address="203.0.113.77")
    events = list(AuditEvent.objects.filter(action="auth.lockout"))
    assert len(events) == 1
    event = events[0]
    assert event.object_label == "user1" and event.object_type == "auth.user"
    assert event.client_address == "203.0.113.77" and event.outcome == "refused"
    assert event.after == {"username": "user1", "locked": ["account"]}
    assert "password" not in str(event.after) + event.message


@override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_behind_the_proxy_the_address_is_the_one_the_proxy_added(presets):
    """A client that writes its own X-Forwarded-For entries does not escape the address's lock:
    the proxy appends the address it saw, and that last entry is the one counted."""
    for number in range(20):
        attempt(f"nobody{number}", "guess", address="10.0.0.2", HTTP_X_FORWARDED_FOR=f"192.0.2.{number}, 203.0.113.8")
    answer = attempt("user1", DEMO_PASSWORD, address="10.0.0.2", HTTP_X_FORWARDED_FOR="192.0.2.99, 203.0.113.8")
    assert answer.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.8"}
    # Another client behind the same proxy is not locked.
    assert logged_in(attempt("user1", DEMO_PASSWORD, address="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9"))


def test_without_the_proxy_setting_x_forwarded_for_is_ignored(presets):
    for number in range(20):
        attempt(f"nobody{number}", "guess", address="203.0.113.10", HTTP_X_FORWARDED_FOR=f"192.0.2.{number}")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.10"}
    assert attempt("user1", DEMO_PASSWORD, address="203.0.113.10", HTTP_X_FORWARDED_FOR="192.0.2.1").status_code == 429

"""Login throttling (issue 13, defect 4): wrong passwords lock an account, and an address, for a while;
the right password is refused meanwhile, on the portal's login page and on /admin/login/ alike."""

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.test import Client, override_settings
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.tenants import throttle
from tests.portal.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.django_db

LOCKED_TEXT = "is paused until"


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


def test_five_failures_from_one_address_lock_the_account_there_only(presets):
    """One client cannot lock an account's owner out: its failures lock the account for it alone."""
    for _ in range(4):
        assert attempt("user1", "wrong", address="198.51.100.4").status_code == 200
    assert attempt("user1", "wrong", address="198.51.100.4").status_code == 429
    assert attempt("user1", DEMO_PASSWORD, address="198.51.100.4").status_code == 429
    # The owner, elsewhere, logs in; the guesser stays locked, and another account is not touched.
    assert logged_in(attempt("user1", DEMO_PASSWORD, address="192.0.2.200"))
    assert attempt("user1", DEMO_PASSWORD, address="198.51.100.4").status_code == 429
    assert logged_in(attempt("user2", DEMO_PASSWORD, address="198.51.100.4"))


def test_a_guess_spread_over_many_addresses_locks_the_account_but_not_for_its_known_address(presets):
    assert logged_in(attempt("user1", DEMO_PASSWORD, address="192.0.2.10"))  # the owner's usual address
    for number in range(49):
        assert attempt("user1", "wrong", address=f"198.51.100.{number}").status_code == 200
    assert attempt("user1", "wrong", address="198.51.100.49").status_code == 429  # the 50th: locked
    assert attempt("user1", DEMO_PASSWORD, address="203.0.113.200").status_code == 429
    # The address it has logged in from before is not locked out by strangers' failures.
    assert logged_in(attempt("user1", DEMO_PASSWORD, address="192.0.2.10"))
    [event] = AuditEvent.objects.filter(action="auth.lockout")
    assert event.after == {"username": "user1", "locked": ["account"]} and "50 from addresses" in event.message


def test_failures_from_a_known_address_do_not_count_towards_the_account_wide_lock(presets):
    assert logged_in(attempt("user1", DEMO_PASSWORD, address="192.0.2.10"))
    for _ in range(4):  # the owner mistyping, under the per-address limit
        attempt("user1", "wrong", address="192.0.2.10")
    for number in range(46):
        attempt("user1", "wrong", address=f"198.51.100.{number}")
    assert logged_in(attempt("user1", DEMO_PASSWORD, address="203.0.113.200"))  # 46 strangers' failures: open


def test_one_address_cannot_keep_accounts_locked_for_their_owners(presets):
    """Five failures at each of four accounts from one address (20: its own limit) lock that address
    and those pairs, not the accounts: their owners log in from anywhere else."""
    for username in ("admin", "user1", "user2", "user3"):
        for _ in range(5):
            attempt(username, "wrong", address="203.0.113.66")
    for username in ("admin", "user1", "user2", "user3"):
        assert logged_in(attempt(username, DEMO_PASSWORD, address="192.0.2.33"))


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
    assert "登录失败次数过多" in answer.text and "暂停至" in answer.text and "约 15 分钟后恢复" in answer.text


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


@override_settings(TRUSTED_PROXIES=["10.0.0.0/24"])
def test_behind_a_trusted_proxy_the_address_is_the_last_one_no_trusted_proxy_added(presets):
    """A client that writes its own X-Forwarded-For entries does not escape the address's lock: each
    trusted proxy appends the address it saw, and the right-most entry not a trusted proxy counts."""
    for number in range(20):
        attempt(f"nobody{number}", "guess", address="10.0.0.2",
                HTTP_X_FORWARDED_FOR=f"192.0.2.{number}, 203.0.113.8, 10.0.0.3")
    answer = attempt("user1", DEMO_PASSWORD, address="10.0.0.2", HTTP_X_FORWARDED_FOR="192.0.2.99, 203.0.113.8")
    assert answer.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.8"}
    assert AuditEvent.objects.get(action="auth.lockout").client_address == "203.0.113.8"
    # Another client behind the same proxy is not locked.
    assert logged_in(attempt("user1", DEMO_PASSWORD, address="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9"))


@override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"), TRUSTED_PROXIES=["10.0.0.2"])
def test_x_forwarded_for_from_a_client_that_is_no_trusted_proxy_is_ignored(presets):
    """BEHIND_TLS_PROXY on, and the portal reachable directly too: a client that connects itself
    cannot pick the address it is counted as by writing the header."""
    for number in range(20):
        attempt(f"spray{number}", "bad", address="203.0.113.20", HTTP_X_FORWARDED_FOR=f"198.51.100.{number}")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.20"}
    assert attempt("user1", DEMO_PASSWORD, address="203.0.113.20",
                   HTTP_X_FORWARDED_FOR="198.51.100.77").status_code == 429
    # Nor can it lock out someone else's address by forging it.
    assert logged_in(attempt("user1", DEMO_PASSWORD, address="198.51.100.3"))


def test_without_trusted_proxies_x_forwarded_for_is_ignored(presets):
    for number in range(20):
        attempt(f"nobody{number}", "guess", address="203.0.113.10", HTTP_X_FORWARDED_FOR=f"192.0.2.{number}")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.10"}
    assert attempt("user1", DEMO_PASSWORD, address="203.0.113.10", HTTP_X_FORWARDED_FOR="192.0.2.1").status_code == 429


def test_an_ipv6_client_is_counted_per_64(presets):
    """One IPv6 client holds a whole /64: new addresses in it are the same client to the throttle."""
    for number in range(20):
        attempt(f"nobody{number}", "guess", address=f"2001:db8:1:2::{number + 1:x}")
    assert attempt("user1", DEMO_PASSWORD, address="2001:db8:1:2:ffff::1").status_code == 429
    assert logged_in(attempt("user1", DEMO_PASSWORD, address="2001:db8:1:3::1"))
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"2001:db8:1:2::"}
    # The audit log keeps the whole address.
    assert AuditEvent.objects.get(action="auth.lockout").client_address == "2001:db8:1:2::14"
    # Staff lift it by any address in it; what is no address lifts nothing.
    assert throttle.lockout_clear(scope=throttle.ADDRESS, key="not an address") == 0
    assert throttle.lockout_clear(scope=throttle.ADDRESS, key="2001:db8:1:2::99") == 20
    assert logged_in(attempt("user1", DEMO_PASSWORD, address="2001:db8:1:2:ffff::1"))


def _local_hhmm(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%H:%M")


def test_the_lockout_page_says_when_the_lock_ends_counted_from_the_failures(presets):
    """The lock lapses a cool-off after the failures that make it (axes moves a row's time to its
    latest failure; refused attempts do not count): seen 10 minutes later, 5 minutes are left, not 15."""
    for _ in range(5):
        attempt("user1", "wrong")
    ten_minutes_ago = timezone.now() - dt.timedelta(minutes=10)
    AccessAttempt.objects.update(attempt_time=ten_minutes_ago)
    answer = attempt("user1", DEMO_PASSWORD)
    assert answer.status_code == 429 and not logged_in(answer)
    ends = ten_minutes_ago + dt.timedelta(minutes=15)
    assert f"paused until {_local_hhmm(ends)} (Asia/Shanghai), in about 5 minutes," in answer.text
    assert "15 minutes" not in answer.text
    assert 299 <= int(answer["Retry-After"]) <= 300


def test_an_addresss_lock_ends_when_its_oldest_failures_age_out(presets):
    """20 failures from one address, half of them 14 minutes old: the count drops below 20 in one
    minute, when those age out, though the latest failure is a moment ago."""
    for number in range(20):
        attempt(f"nobody{number}", "guess", address="203.0.113.66")
    fourteen_minutes_ago = timezone.now() - dt.timedelta(minutes=14)
    AccessAttempt.objects.filter(username__in=[f"nobody{number}" for number in range(10)]).update(
        attempt_time=fourteen_minutes_ago)
    answer = attempt("user3", DEMO_PASSWORD, address="203.0.113.66")
    assert answer.status_code == 429
    ends = fourteen_minutes_ago + dt.timedelta(minutes=15)
    assert f"paused until {_local_hhmm(ends)} (Asia/Shanghai), in about 1 minute," in answer.text
    assert int(answer["Retry-After"]) <= 60
    # And it does lapse then: the same login a minute later (the old rows past the cool-off) works.
    AccessAttempt.objects.filter(attempt_time=fourteen_minutes_ago).update(
        attempt_time=timezone.now() - dt.timedelta(minutes=15, seconds=1))
    assert logged_in(attempt("user3", DEMO_PASSWORD, address="203.0.113.66"))

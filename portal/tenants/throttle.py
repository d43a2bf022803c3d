"""Login throttling: django-axes, with one limit per account and a larger one per network address.

Both kinds of guessing are stopped: many passwords at one account from many addresses (the account
locks after AXES_FAILURE_LIMIT failures), and one address trying many accounts (the address locks
after LOGIN_FAILURES_PER_ADDRESS, larger because an office behind one NAT address shares it). A
lock lasts AXES_COOLOFF_TIME from the failure that set it; attempts while locked out do not extend
it, so whoever guesses at someone else's account cannot keep its owner out for longer than that
(and staff can lift it at once: /staff/lockouts/).

axes compares a single number with AXES_FAILURE_LIMIT; `LoginThrottle.get_failures` gives it the
account's count, or the limit itself once the address has reached its own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, QuerySet, Sum
from django.utils import timezone

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.http import HttpRequest

ACCOUNT = "account"
ADDRESS = "address"


def cool_off() -> dt.timedelta:
    return get_cool_off() or dt.timedelta(0)


def account_limit() -> int:
    return int(settings.AXES_FAILURE_LIMIT)


def address_limit() -> int:
    return int(settings.LOGIN_FAILURES_PER_ADDRESS)


def _recent(now: dt.datetime | None = None) -> QuerySet[AccessAttempt]:
    """Failures that still count: axes keeps a row per (username, address, browser) and moves its
    time to the latest failure; a row older than the cool-off is forgotten."""
    return AccessAttempt.objects.filter(attempt_time__gte=(now or timezone.now()) - cool_off())


def _total(attempts: QuerySet[AccessAttempt]) -> int:
    return int(attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0)


def failures(*, username: str | None, address: str | None) -> tuple[int, int]:
    """(failures of this account, failures from this address) within the cool-off."""
    recent = _recent()
    by_account = _total(recent.filter(username=username)) if username else 0
    by_address = _total(recent.filter(ip_address=address)) if address else 0
    return by_account, by_address


def locked_scopes(*, username: str | None, address: str | None) -> list[str]:
    """Which of the two is locked now: [], ["account"], ["address"] or both."""
    by_account, by_address = failures(username=username, address=address)
    return ([ACCOUNT] if by_account >= account_limit() else []) + ([ADDRESS] if by_address >= address_limit() else [])


class LoginThrottle(AxesDatabaseHandler):
    """axes's database handler with the two limits above, and a narrower reset on success."""

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        by_account, by_address = failures(username=get_client_username(request, credentials),
                                          address=getattr(request, "axes_ip_address", None))
        if by_address >= address_limit():
            return max(by_account, get_failure_limit(request, credentials))
        return by_account

    def reset_user_attempts(self, request: HttpRequest, credentials: dict | None = None) -> int:
        """A successful login forgets the failures this client made on this account, no others.
        axes's own reset also forgets every failure from the address: whoever holds one account
        could then guess at all the others from there, logging in to their own between guesses."""
        username = get_client_username(request, credentials)
        count, _ = AccessAttempt.objects.filter(username=username,
                                                ip_address=getattr(request, "axes_ip_address", None)).delete()
        return int(count)


class LoginThrottleBackend(AxesStandaloneBackend):
    """Refuses a login while its account or address is locked out (first in AUTHENTICATION_BACKENDS).

    A login that comes with no request (the shell, a management command, the test client's
    login()) is not throttled: no one reaches it over the network, and there is no address to
    count. Every login page (the portal's, /admin/login/) passes its request."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None, password: str | None = None,
                     **kwargs: Any) -> User | None:
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


# -- what the staff page shows ---------------------------------------------------------------------


@dataclass(frozen=True)
class Lockout:
    """An account (`key` is its user name) or an address (`key` is the address) locked until `until`."""

    scope: str
    key: str
    failures: int
    until: dt.datetime


def lockout_list() -> list[Lockout]:
    """Accounts and addresses locked out now, accounts first, the longest-locked first."""
    now = timezone.now()
    recent = _recent(now)
    found: list[Lockout] = []
    for scope, field, limit in ((ACCOUNT, "username", account_limit()), (ADDRESS, "ip_address", address_limit())):
        rows = (recent.values(field).annotate(n=Sum("failures_since_start"), last=Max("attempt_time"))
                .filter(n__gte=limit).order_by("last"))
        found += [Lockout(scope, row[field], row["n"], row["last"] + cool_off()) for row in rows if row[field]]
    return found


def lockout_for_account(username: str) -> Lockout | None:
    return next((lock for lock in lockout_list() if lock.scope == ACCOUNT and lock.key == username), None)


def lockout_clear(*, scope: str, key: str) -> int:
    """Forget the failures that lock this account or address (all of them: any address, any account)."""
    field = {ACCOUNT: "username", ADDRESS: "ip_address"}[scope]
    count, _ = AccessAttempt.objects.filter(**{field: key}).delete()
    return int(count)

"""Login throttling: django-axes, with three counts of failed logins within the cool-off.

- An account from one address: locked after AXES_FAILURE_LIMIT (5). This stops one client guessing
  at one account, and it is all that client can do to the account: its owner, elsewhere, logs in.
- An account from every address: locked after LOGIN_FAILURES_PER_ACCOUNT_EVERYWHERE (50), much
  higher, so that a guess spread over many addresses is still stopped, while one address cannot
  lock anyone out (each stops at 5 per account: it takes ten). Failures from an address that has
  logged in to the account before do not count, and that address is not locked by this count: the
  owner's own typing does not add up, and the owner keeps logging in from there while strangers
  are refused.
- An address at every account: locked after LOGIN_FAILURES_PER_ADDRESS (20; larger than 5 because
  an office behind one NAT address shares it). An IPv6 address counts as its /64 (counted_address).

The addresses an account has logged in from are kept in axes's AccessLog, one row per account and
address (LoginThrottle.user_logged_in); axes's own log of every login stays off.

A lock lasts until the count in the cool-off window (AXES_COOLOFF_TIME) drops below its limit,
as old failures age out; attempts while locked out are refused without being counted, so they do
not extend it. The lockout page says when that is (`lock_ends_at`). Staff can lift it at once:
/staff/lockouts/.

axes compares a single number with AXES_FAILURE_LIMIT; `LoginThrottle.get_failures` gives it the
account's count from this address, or the limit itself once another count has reached its own.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.db.models import QuerySet, Sum
from django.utils import timezone

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django.contrib.auth.models import User
    from django.http import HttpRequest

ACCOUNT = "account"
ADDRESS = "address"


def cool_off() -> dt.timedelta:
    return get_cool_off() or dt.timedelta(0)


def account_limit() -> int:
    """Failures at one account from one address."""
    return int(settings.AXES_FAILURE_LIMIT)


def account_everywhere_limit() -> int:
    return int(settings.LOGIN_FAILURES_PER_ACCOUNT_EVERYWHERE)


def address_limit() -> int:
    return int(settings.LOGIN_FAILURES_PER_ADDRESS)


def counted_address(address: str | None) -> str | None:
    """An address as the throttle counts it: an IPv6 one as its /64. One home or host is given a
    whole /64 and may use any address in it, so counting single IPv6 addresses would let one client
    try 2**64 times the limit. None for what is no address."""
    try:
        parsed = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((parsed, 64), strict=False).network_address)
    return str(parsed)


def _recent(now: dt.datetime | None = None) -> QuerySet[AccessAttempt]:
    """Failures that still count: axes keeps a row per (username, address, browser) and moves its
    time to the latest failure; a row older than the cool-off is forgotten."""
    return AccessAttempt.objects.filter(attempt_time__gte=(now or timezone.now()) - cool_off())


def _total(attempts: QuerySet[AccessAttempt]) -> int:
    return int(attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0)


def known_addresses(username: str) -> QuerySet[AccessLog]:
    """The addresses this account has logged in from (one AccessLog row each: LoginThrottle)."""
    return AccessLog.objects.filter(username=username).values_list("ip_address", flat=True)


def is_known_address(*, username: str | None, address: str | None) -> bool:
    return bool(username and address) and AccessLog.objects.filter(username=username, ip_address=address).exists()


@dataclass(frozen=True)
class Failures:
    """Failed logins within the cool-off: at the account from this address, at the account from
    addresses it has never logged in from, and from this address at any account."""

    account_here: int
    account_everywhere: int
    address: int


def failures(*, username: str | None, address: str | None) -> Failures:
    recent = _recent()
    here = _total(recent.filter(username=username, ip_address=address)) if username and address else 0
    everywhere = (_total(recent.filter(username=username).exclude(ip_address__in=known_addresses(username)))
                  if username else 0)
    by_address = _total(recent.filter(ip_address=address)) if address else 0
    return Failures(here, everywhere, by_address)


def locked_scopes(*, username: str | None, address: str | None, counts: Failures | None = None) -> list[str]:
    """Which of the two is locked for this attempt: [], ["account"], ["address"] or both. The
    account is locked for it from this address, or (unless it is a known one) from every address."""
    counts = counts or failures(username=username, address=address)
    account = counts.account_here >= account_limit() or (
        counts.account_everywhere >= account_everywhere_limit()
        and not is_known_address(username=username, address=address))
    return ([ACCOUNT] if account else []) + ([ADDRESS] if counts.address >= address_limit() else [])


class LoginThrottle(AxesDatabaseHandler):
    """axes's database handler with the three counts above, and a narrower reset on success."""

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        username = get_client_username(request, credentials)
        address = getattr(request, "axes_ip_address", None)
        counts = failures(username=username, address=address)
        if locked_scopes(username=username, address=address, counts=counts):
            return max(counts.account_here, get_failure_limit(request, credentials))
        return counts.account_here

    def reset_user_attempts(self, request: HttpRequest, credentials: dict | None = None) -> int:
        """A successful login forgets the failures this client made on this account, no others.
        axes's own reset also forgets every failure from the address: whoever holds one account
        could then guess at all the others from there, logging in to their own between guesses."""
        username = get_client_username(request, credentials)
        count, _ = AccessAttempt.objects.filter(username=username,
                                                ip_address=getattr(request, "axes_ip_address", None)).delete()
        return int(count)

    def user_logged_in(self, sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
        """Remembers the address as one this account logs in from (one row per pair, its time the
        latest login; axes's own access log, a row per login, stays off)."""
        super().user_logged_in(sender, request, user, **kwargs)
        address = getattr(request, "axes_ip_address", None)
        username = user.get_username()
        # Not update_or_create: two first logins at once may both insert, and a later get() would
        # then fail the login. A duplicate row is harmless here.
        if address and not AccessLog.objects.filter(username=username, ip_address=address).update(
                attempt_time=timezone.now()):
            AccessLog.objects.create(username=username, ip_address=address, user_agent="", http_accept="",
                                     path_info="")


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
    """An account (`key` is its user name: locked from one address or more, or from every one) or an
    address (`key` is the address) locked until `until`."""

    scope: str
    key: str
    failures: int
    until: dt.datetime


def lapses_at(rows: Iterable[tuple[dt.datetime, int]], limit: int) -> dt.datetime | None:
    """When a count of (time, failures) rows stops reaching `limit` as rows age out of the cool-off
    (a row counts until its time + the cool-off); None if it does not reach it now."""
    ordered = sorted(rows)
    remaining = sum(count for _, count in ordered)
    if remaining < limit:
        return None
    for time, count in ordered:
        remaining -= count
        if remaining < limit:
            return time + cool_off()
    raise AssertionError("unreachable: the count drops to 0")  # pragma: no cover


def lock_ends_at(*, username: str | None, address: str | None) -> dt.datetime | None:
    """When the lock on this attempt lapses (None: nothing locks it now): the latest of its locked
    counts', each as `lapses_at` reckons it. axes keeps one row per (account, address, browser)
    whose time is its latest failure, and a count drops as its rows age out of the cool-off, oldest
    first: a lock ends up to a whole cool-off sooner than "cool-off from now", never later."""
    rows = _recent().values_list("attempt_time", "failures_since_start")
    ends = []
    if username and address:
        ends.append(lapses_at(rows.filter(username=username, ip_address=address), account_limit()))
    if username and not is_known_address(username=username, address=address):
        ends.append(lapses_at(rows.filter(username=username).exclude(ip_address__in=known_addresses(username)),
                              account_everywhere_limit()))
    if address:
        ends.append(lapses_at(rows.filter(ip_address=address), address_limit()))
    return max((end for end in ends if end is not None), default=None)


def lockout_list() -> list[Lockout]:
    """Accounts and addresses locked out now, accounts first, the soonest to lapse first."""
    rows = list(_recent().values_list("username", "ip_address", "attempt_time", "failures_since_start"))
    usernames = {username for username, *_ in rows if username}
    known = set(AccessLog.objects.filter(username__in=usernames).values_list("username", "ip_address"))
    by_pair: dict[tuple[str, str], list[tuple[dt.datetime, int]]] = defaultdict(list)
    by_account: dict[str, list[tuple[dt.datetime, int]]] = defaultdict(list)
    by_address: dict[str, list[tuple[dt.datetime, int]]] = defaultdict(list)
    for username, address, time, count in rows:
        if username and address:
            by_pair[username, address].append((time, count))
        if username and (username, address) not in known:
            by_account[username].append((time, count))
        if address:
            by_address[address].append((time, count))
    account_until: dict[str, dt.datetime] = {}
    for (username, _), pair_rows in by_pair.items():
        if (until := lapses_at(pair_rows, account_limit())) is not None:
            account_until[username] = max(until, account_until.get(username, until))
    for username, account_rows in by_account.items():
        if (until := lapses_at(account_rows, account_everywhere_limit())) is not None:
            account_until[username] = max(until, account_until.get(username, until))
    totals: dict[str, int] = defaultdict(int)
    for username, _, _, count in rows:
        totals[username] += count
    accounts = [Lockout(ACCOUNT, username, totals[username], until) for username, until in account_until.items()]
    addresses = [Lockout(ADDRESS, address, sum(count for _, count in address_rows), until)
                 for address, address_rows in by_address.items()
                 if (until := lapses_at(address_rows, address_limit())) is not None]
    return sorted(accounts, key=lambda lock: lock.until) + sorted(addresses, key=lambda lock: lock.until)


def lockout_for_account(username: str) -> Lockout | None:
    return next((lock for lock in lockout_list() if lock.scope == ACCOUNT and lock.key == username), None)


def lockout_clear(*, scope: str, key: str) -> int:
    """Forget the failures that lock this account or address (all of them: any address, any account).
    An IPv6 address lifts its /64's lock; what is no address lifts nothing."""
    if scope == ADDRESS:
        address = counted_address(key)
        if address is None:
            return 0
        key = address
    field = {ACCOUNT: "username", ADDRESS: "ip_address"}[scope]
    count, _ = AccessAttempt.objects.filter(**{field: key}).delete()
    return int(count)

"""What the service pages read: the mirror and how fresh it is, never IES itself.

A page whose data is older than a throttle window asks for a background refresh (tasks.py, sent
by name through dispatch.py) at most once per window per tenant or service, and says
"refreshing…" while it runs; the page's partial is polled until the refresh has landed. A page
request writes nothing. Only usage_preview (the bandwidth editor's traffic figures) reads IES.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, TextField, Value
from django.db.models.expressions import Expression, RawSQL
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from ies_client import models as ies
from ies_client.errors import IESAuthError, IESError
from portal.audit.models import AuditEvent
from portal.core.compiled import Compiled, bind, compile_query, fetch
from portal.operations.models import IN_FLIGHT_STATES, Operation
from portal.operations.selectors import Badge, badge_from, badge_of, badge_subqueries
from portal.services import dispatch
from portal.services.mirror import TROUBLE_KINDS
from portal.services.models import Service, ServiceListRefresh
from portal.services.selectors import (
    service_audit_trail,
    service_last_sync_for_tenant,
    service_list_for_tenant,
    service_lookup,
)
from portal.services.status_words import RUNNING
from portal.tenants.access import (
    current_membership,
    tenant_object_for_writer_or_404,
    tenant_object_or_404,
    tenant_read_or_404,
)
from portal.tenants.ies import TenantNotConfigured
from portal.tenants.ies_errors import Trouble, describe
from portal.tenants.models import Membership, Tenant

if TYPE_CHECKING:
    from portal.traffic.ranges import TimeRange
    from portal.traffic.stats import Suggestion

log = logging.getLogger(__name__)

# A page asks for a background refresh when what it shows is older than this, at most once per
# this many seconds per tenant (the list) or service (the detail); the beat's periodic sync keeps
# every tenant's list fresh besides.
LIST_REFRESH_SECONDS = 30
SERVICE_REFRESH_SECONDS = 30
# A refresh asked for and not run within this long is no longer waited for (a worker down): the
# page stops saying "refreshing…" and the next view may ask again.
PENDING_SECONDS = dispatch.REFRESH_EXPIRES_SECONDS  # by then the worker drops it unrun, too
# "Refresh from IES" asks at once, but at most once per this many seconds per tenant or service,
# and not while a refresh is still pending.
FORCED_REFRESH_FLOOR_SECONDS = 5
# While a refresh is pending the page polls its partial every POLL_SECONDS, at most MAX_POLLS
# times (a minute), then says the answer is late and stops.
POLL_SECONDS = 2
MAX_POLLS = 30
PAGE_SIZE = 50
# Names sort the way people count ("site2" before "site10"): by the stored natural key, then the
# name itself so that keys equal but for case keep a fixed order across pages.
SORTS = {
    "name": ("name_key", "name"), "-name": ("-name_key", "-name"),
    "bandwidth": ("bandwidth_kbps", "name_key", "name"), "-bandwidth": ("-bandwidth_kbps", "name_key", "name"),
    "status": ("status", "name_key", "name"), "-status": ("-status", "name_key", "name"),
    "changed": ("last_changed_at", "name_key", "name"), "-changed": ("-last_changed_at", "name_key", "name"),
}


# -- freshness and background refreshes ---------------------------------------------------------


@dataclass(frozen=True)
class Freshness:
    """How current a page's data is, for its "as of" line."""

    as_of: datetime | None  # when IES last answered for what the page shows; None: never yet
    refreshing: bool  # a background refresh was asked for and has not run yet
    trouble: Trouble | None = None  # why the last background refresh failed: the page is the last known state
    next_poll: int = 0  # the partial's next poll (1, 2, …); 0: the page does not poll

    @property
    def as_of_today(self) -> bool:
        """The "as of" is today where the reader is: the time alone says it."""
        return self.as_of is not None and timezone.localdate(self.as_of) == timezone.localdate()

    @property
    def late(self) -> bool:
        """Still refreshing after the last poll: the page stops waiting and says so."""
        return self.refreshing and not self.next_poll


def _pending(kind: str, ident: int | str, attempted_at: datetime | None) -> bool:
    """A refresh of `kind` was asked for and no attempt has ended since."""
    return _pending_since(cache.get(f"services:refresh-requested:{kind}:{ident}"), attempted_at)


def _pending_since(requested: float | None, attempted_at: datetime | None) -> bool:
    return requested is not None and (attempted_at is None or attempted_at.timestamp() < float(requested))


def _refresh_when_old(kind: str, ident: int | str, *, old: bool, window: int, send: Callable[[], bool],
                      attempted_at: datetime | None) -> bool:
    """What a page view does: ask for a background refresh when its data is `old` (throttled as
    _request_refresh), then say whether one is pending (_pending). One cache round trip while the
    throttle holds, not two: its key is read with the request's."""
    requested_key, throttle_key = f"services:refresh-requested:{kind}:{ident}", f"services:refresh-throttle:{kind}:{ident}"
    found = cache.get_many([requested_key, throttle_key] if old else [requested_key])
    requested = found.get(requested_key)
    if old and throttle_key not in found and cache.add(throttle_key, 1, window):
        requested = _send_refresh(kind, ident, send)
    return _pending_since(requested, attempted_at)


def _request_refresh(kind: str, ident: int | str, *, window: int, send: Callable[[], bool]) -> bool:
    """Ask for a background refresh unless one was asked for within `window` seconds. True when
    one was sent. (With Redis down the cache's `add` is False: pages leave the refreshing to the
    periodic sync; see portal.core.cache.)"""
    if not cache.add(f"services:refresh-throttle:{kind}:{ident}", 1, window):
        return False
    return _send_refresh(kind, ident, send) is not None


# What became of a press of "Refresh from IES".
REFRESH_SENT, REFRESH_ALREADY_ASKED, REFRESH_NOT_SENT = "sent", "already-asked", "not-sent"


def _force_refresh(kind: str, ident: int | str, *, window: int, send: Callable[[], bool],
                   attempted_at: datetime | None) -> str:
    """A person pressed "Refresh from IES": ask at once, unless a refresh is already pending or one
    was forced within FORCED_REFRESH_FLOOR_SECONDS (anyone who can see the page may press it, so
    pressing it again and again must not become a stream of calls to IES)."""
    if _pending(kind, ident, attempted_at):
        return REFRESH_ALREADY_ASKED
    if not cache.add(f"services:refresh-forced:{kind}:{ident}", 1, FORCED_REFRESH_FLOOR_SECONDS):
        return REFRESH_ALREADY_ASKED
    cache.set(f"services:refresh-throttle:{kind}:{ident}", 1, window)
    return REFRESH_SENT if _send_refresh(kind, ident, send) is not None else REFRESH_NOT_SENT


def _send_refresh(kind: str, ident: int | str, send: Callable[[], bool]) -> float | None:
    """Send a refresh; the moment it was asked for (as a page reads it back), None if not sent."""
    requested = f"services:refresh-requested:{kind}:{ident}"
    # Before the send: a worker quicker than this line must find its attempt later than the request.
    asked = time.time()
    cache.set(requested, asked, PENDING_SECONDS)
    if send():
        return asked
    cache.delete(requested)
    return None


def _trouble(kind: str) -> Trouble | None:
    if not kind:
        return None
    return describe(TROUBLE_KINDS.get(kind, IESError)())


def _next_poll(refreshing: bool, poll: int | None) -> int:
    done = poll or 0
    return done + 1 if refreshing and done < MAX_POLLS else 0


def _older_than(moment: datetime | None, seconds: int) -> bool:
    return moment is None or timezone.now() - moment > timedelta(seconds=seconds)


def service_list_refresh_request(*, tenant: Tenant) -> bool:
    """Have the tenant's list read from IES in the background (at most once per window). True
    when one was sent."""
    return _request_refresh("list", tenant.pk, window=LIST_REFRESH_SECONDS,
                            send=lambda: dispatch.sync_tenant(tenant.pk))


def service_list_refresh_now(*, tenant: Tenant) -> str:
    """"Refresh from IES" on the list (see _force_refresh): REFRESH_SENT, _ALREADY_ASKED or _NOT_SENT."""
    state = ServiceListRefresh.objects.filter(tenant=tenant).only("attempted_at").first()
    return _force_refresh("list", tenant.pk, window=LIST_REFRESH_SECONDS, send=lambda: dispatch.sync_tenant(tenant.pk),
                          attempted_at=state.attempted_at if state else None)


def service_list_freshness(*, tenant: Tenant, state: ServiceListRefresh | None, poll: int | None = None) -> Freshness:
    """How fresh the tenant's list is, from its refresh state as the caller read it (None: none
    yet); asks for a background refresh when it is old (not from a poll: a poll only watches the
    refresh its page asked for)."""
    as_of = state.succeeded_at if state else None
    if as_of is None:
        # Rows mirrored before refreshes were recorded, or by an operation's end.
        as_of = service_last_sync_for_tenant(tenant=tenant)
    refreshing = _refresh_when_old("list", tenant.pk, old=poll is None and _older_than(as_of, LIST_REFRESH_SECONDS),
                                   window=LIST_REFRESH_SECONDS, send=lambda: dispatch.sync_tenant(tenant.pk),
                                   attempted_at=state.attempted_at if state else None)
    trouble = _trouble(state.trouble) if state else None
    if trouble and state and state.trouble not in (TenantNotConfigured.__name__, IESAuthError.__name__):
        # A passing IES failure leaves the last known list useful; a token problem needs an admin.
        trouble = Trouble(trouble.problem, _("The list below is the last one we received. Try again in a minute."))
    return Freshness(as_of=as_of, refreshing=refreshing, trouble=trouble, next_poll=_next_poll(refreshing, poll))


# -- the list -----------------------------------------------------------------------------------


@dataclass
class ServiceListing:
    page: Page
    freshness: Freshness
    total: int = 0
    in_flight: dict[int, Operation] = field(default_factory=dict)  # service pk → its running operation
    statuses: list[str] = field(default_factory=list)  # the words the tenant's live services have, for the filter
    badge: Badge | None = None  # the header badge, when a reader was given

    @property
    def services(self) -> list[Service]:
        # service_listing puts the page's rows there as a list.
        return cast("list[Service]", self.page.object_list)

    @property
    def live(self) -> bool:
        """The last background read of IES's list worked (the list is IES's, as of freshness.as_of)."""
        return self.freshness.trouble is None

    @property
    def ever_listed(self) -> bool:
        """IES's list has been read at least once: an empty list then means no services."""
        return self.freshness.as_of is not None


def filtered_services(*, tenant: Tenant, q: str = "", status: str = "", kind: str = "", sort: str = "name") -> QuerySet[Service]:
    # IES's operation log of each service is the detail page's, not the list's.
    services = service_list_for_tenant(tenant=tenant).defer("remote_history")
    if q:
        # Any part of any of the three, in any case: "9LbuAd" finds the id 9LbuAd11Qe-cuGnVONz6qw,
        # "2017" the name site2dc_201705071132. icontains is case-insensitive on SQLite and PostgreSQL.
        services = services.filter(Q(name__icontains=q) | Q(cloud_vpn_name__icontains=q)
                                   | Q(ies_service_id__icontains=q))
    if status:
        services = services.filter(status=status)
    if kind:
        services = services.filter(kind=kind)
    return services.order_by(*SORTS.get(sort, SORTS["name"]))


class ServiceNotKnown(Http404):
    """The request's tenant has no such service in the mirror (yet); its list is being refreshed."""


def service_or_404(request: HttpRequest, services: QuerySet[Service], /, *, for_writer: bool = False,
                   **lookup: Any) -> tuple[Membership, Service]:
    """The request's tenant's service matching `lookup`, through the access chokepoint (the writer
    variant for a change). A miss may only mean that the mirror has not heard of the service yet
    (made elsewhere moments ago): IES is not asked here; the tenant's list is refreshed in the
    background (throttled, with the tenant's own token) and the miss is a ServiceNotKnown, a 404
    that looks the same whether the id is another tenant's or nobody's."""
    fetch = tenant_object_for_writer_or_404 if for_writer else tenant_object_or_404
    return _caught_up(request, lambda: fetch(request, services, **lookup))


def service_page_or_404(request: HttpRequest, *, ies_service_id: str,
                        reader: Membership | None) -> tuple[Membership, Service]:
    """As service_or_404 for a service's page (deleted services too, for their history), read by a
    query compiled once per process and badge. With a reader, the row carries the header badge's
    counts, but for the service's own running and stopped operations: service_detail counts those
    from the very rows the page shows, so that the badge and the "in progress" notice are one read
    (as operations_badge's `current`)."""
    badge: tuple[tuple[str, str, tuple], ...] = ()
    if reader is not None:
        quote = connection.ops.quote_name
        subqueries = badge_subqueries(tenant=reader.tenant, reader=reader,
                                      unsteady_of_service=f"{quote(Service._meta.db_table)}.{quote('id')}")
        badge = tuple((name, raw.sql, tuple(raw.params)) for name, raw in subqueries.items())
    compiled = _page_service_sql(connection.vendor, badge)

    def read(tenant: Tenant) -> Service | None:
        values: dict[int | str, Any] = {_TENANT_SLOT: tenant.pk, _SERVICE_ID_SLOT: ies_service_id}
        return next(iter(Service.objects.raw(compiled.sql, _bind(compiled, values))), None)
    return _caught_up(request, lambda: tenant_read_or_404(request, read))


def _caught_up(request: HttpRequest, find: Callable[[], tuple[Membership, Service]]) -> tuple[Membership, Service]:
    # A miss may only mean that the mirror has not heard of the service yet: see service_or_404.
    try:
        return find()
    except Http404 as exc:
        membership = current_membership(request)
        if membership is None:
            raise
        service_list_refresh_request(tenant=membership.tenant)
        raise ServiceNotKnown from exc


# The columns a list row shows (presenters.service_row): a row's parameters and IES's operation log
# are the detail page's, and decoding their JSON for 50 rows is the list's largest read.
ROW_FIELDS = ("tenant_id", "ies_service_id", "name", "kind", "cloud_vpn_name", "bandwidth_kbps", "status",
              "active_status", "last_changed_at", "gone_at")

# The list's two queries are built and compiled by the ORM once per process and shape (filters
# given, sort, page), with these standing for the request's values, then reused as SQL with the
# values put in: building and compiling them cost several times what running them does (issue 14).
# Letters only: a LIKE pattern keeps them as they are (prep_for_like_query escapes \, % and _).
_TENANT_SLOT = -914_101
_Q_SLOT, _STATUS_SLOT, _KIND_SLOT = "zqslotq", "zsslots", "zkslotk"
_SERVICE_SLOT, _SERVICE_ID_SLOT = -914_102, "zislotidz"
_SUMMARY_NAMES = ("statuses", "total", "refresh_tenant", "refresh_attempted_at", "refresh_succeeded_at",
                  "refresh_trouble")


def _bind(compiled: Compiled, values: dict[int | str, Any], q: str = "") -> list[Any]:
    """The compiled query's parameters with the request's values where the slots were (`values`:
    slot → value; `q` goes into the LIKE patterns made of _Q_SLOT)."""
    params = bind(compiled, values)
    if not q:
        return params  # compiled without a search: no pattern holds _Q_SLOT
    like = connection.ops.prep_for_like_query(q)
    return [param.replace(_Q_SLOT, like) if type(param) is str and _Q_SLOT in param else param
            for param in params]


def _list_values(tenant: Tenant, status: str, kind: str) -> dict[int | str, Any]:
    return {_TENANT_SLOT: tenant.pk, _STATUS_SLOT: status, _KIND_SLOT: kind}


def _slots(*, q: bool, status: bool, kind: bool) -> dict[str, str]:
    return {"q": _Q_SLOT if q else "", "status": _STATUS_SLOT if status else "", "kind": _KIND_SLOT if kind else ""}


@lru_cache(maxsize=512)
def _rows_sql(vendor: str, q: bool, status: bool, kind: bool, sort: str, offset: int) -> Compiled:
    """The page's rows with their running operation (as operation_running_for_service picks it)."""
    services = filtered_services(tenant=Tenant(pk=_TENANT_SLOT), sort=sort, **_slots(q=q, status=status, kind=kind))
    order = (*SORTS[sort], "pk")  # the id last: rows of equal names keep one order, page after page
    # The page's ids first, then their running operations: looked up for these 50 rows, not for
    # every row the sort reads (PostgreSQL evaluates a select list's subqueries before its sort).
    page = services.order_by(*order).values("pk")[offset:offset + PAGE_SIZE]
    running = Operation.objects.filter(service=OuterRef("pk"), state__in=IN_FLIGHT_STATES).order_by("-created_at")
    rows = (Service.objects.filter(pk__in=Subquery(page)).order_by(*order).only(*ROW_FIELDS)
            .annotate(running_pk=Subquery(running.values("pk")[:1]), running_kind=Subquery(running.values("kind")[:1])))
    return compile_query(rows)


@lru_cache(maxsize=1024)
def _summary_sql(vendor: str, tenant_id: int, q: bool, status: bool, kind: bool,
                 badge: tuple[tuple[str, str, tuple], ...]) -> Compiled:
    """The list's one-row facts: the tenant's refresh state, the status words of its live services,
    how many match the filters and the header badge's counts (`badge`: badge_subqueries' SQL, per
    tenant and reader)."""
    tenant = Tenant(pk=tenant_id)
    # The status words of the live services, each with how many have it ("word:n,word:n"): one
    # grouped read of the status index gives the filter's choices and, when nothing is filtered, the
    # count too (a DISTINCT aggregate sorted every row: 0.48 ms against 0.2 at 1,000 services).
    by_status_sql, by_status_params = (service_list_for_tenant(tenant=tenant).order_by().values("status")
                                       .annotate(n=Count("*")).query.sql_with_params())
    concat = "STRING_AGG" if vendor == "postgresql" else "GROUP_CONCAT"  # the two databases the portal runs on
    statuses = RawSQL(f"SELECT {concat}(words.status || ':' || words.n, ',') FROM ({by_status_sql}) words",
                      by_status_params, output_field=TextField())
    total: Expression
    if q or status or kind:
        matching = filtered_services(tenant=tenant, **_slots(q=q, status=status, kind=kind))
        # Count("*"), not of the key: the count can then be read from the status index alone.
        total = Coalesce(Subquery(matching.order_by().values("tenant").annotate(n=Count("*")).values("n")), 0)
    else:
        total = Value(None, output_field=IntegerField())  # the sum of the status words' counts
    counts = {name: RawSQL(sql, params, output_field=IntegerField()) for name, sql, params in badge}
    summary = Tenant.objects.filter(pk=tenant_id).annotate(
        statuses=statuses, total=total, refresh_tenant=F("service_list_refresh__tenant"),
        refresh_attempted_at=F("service_list_refresh__attempted_at"),
        refresh_succeeded_at=F("service_list_refresh__succeeded_at"),
        refresh_trouble=F("service_list_refresh__trouble"), **counts)
    return compile_query(summary.values(*_SUMMARY_NAMES, *counts).order_by())


def _list_summary(*, tenant: Tenant, q: str, status: str, kind: str, reader: Membership | None) -> SimpleNamespace:
    """The list's one-row facts in one query (see _summary_sql); the refresh state as
    `service_list_refresh` (None: none yet) and the badge's counts as badge_from reads them."""
    badge = tuple((name, raw.sql, tuple(raw.params))
                  for name, raw in (badge_subqueries(tenant=tenant, reader=reader) if reader else {}).items())
    compiled = _summary_sql(connection.vendor, tenant.pk, bool(q), bool(status), bool(kind), badge)
    rows = fetch(compiled, _bind(compiled, _list_values(tenant, status, kind), q))
    if not rows:
        raise Tenant.DoesNotExist
    summary = SimpleNamespace(**dict(zip(compiled.names, rows[0], strict=True)))
    # IES's status words are single words (no ","); a ":" in one would still split at the last.
    counts = dict(word.rpartition(":")[::2] for word in summary.statuses.split(",")) if summary.statuses else {}
    summary.statuses = sorted(counts)
    if summary.total is None:
        summary.total = sum(int(n) for n in counts.values())
    summary.service_list_refresh = None if summary.refresh_tenant is None else ServiceListRefresh(
        tenant_id=summary.refresh_tenant, attempted_at=summary.refresh_attempted_at,
        succeeded_at=summary.refresh_succeeded_at, trouble=summary.refresh_trouble)
    return summary


def _running_operations(rows: Iterable[Service]) -> dict[int, Operation]:
    """The rows' running operations as service_listing annotated them: enough of one for its link."""
    return {row.pk: Operation(pk=row.running_pk, kind=row.running_kind, service_id=row.pk)  # type: ignore[attr-defined]
            for row in rows if row.running_pk is not None}  # type: ignore[attr-defined]


def service_listing(*, tenant: Tenant, q: str = "", status: str = "", kind: str = "", sort: str = "name",
                    page: int | str = 1, poll: int | None = None, reader: Membership | None = None) -> ServiceListing:
    """One page of the tenant's mirror, with how fresh it is (see service_list_freshness), in two
    queries: the summary (refresh state, status words, count, badge) and the page's rows with their
    running operations. With a `reader`, the header badge as they see it (else listing.badge is None)."""
    sort = sort if sort in SORTS else "name"
    summary = _list_summary(tenant=tenant, q=q, status=status, kind=kind, reader=reader)
    freshness = service_list_freshness(tenant=tenant, state=summary.service_list_refresh, poll=poll)
    # The paginator only numbers the pages (from the summary's count): the rows are read below.
    paginator = Paginator(range(summary.total), PAGE_SIZE)
    current = paginator.get_page(page)
    compiled = _rows_sql(connection.vendor, bool(q), bool(status), bool(kind), sort, (current.number - 1) * PAGE_SIZE)
    listed = list(Service.objects.raw(compiled.sql, _bind(compiled, _list_values(tenant, status, kind), q)))
    current.object_list = listed  # type: ignore[assignment]  # the rows, in place of the numbers
    return ServiceListing(
        page=current,
        freshness=freshness,
        total=summary.total,
        in_flight=_running_operations(listed),
        statuses=summary.statuses,
        badge=badge_from(summary) if reader else None,
    )


# -- one service ------------------------------------------------------------------------------


@dataclass
class HistoryEntry:
    at: datetime | None
    kind: str
    outcome: str
    reason: str
    who: str
    operation: Operation | None  # the portal's own record, if the portal started it


@dataclass
class ServiceDetail:
    service: Service
    freshness: Freshness
    history: list[HistoryEntry]
    in_flight: Operation | None
    history_known: bool  # IES's operation log is in the history (else only the portal's own operations)
    badge: Badge | None = None  # the header badge, when a reader was given (see service_page_or_404)

    @property
    def trouble(self) -> Trouble | None:
        return self.freshness.trouble

    @property
    def live(self) -> bool:
        return self.freshness.trouble is None


def _service_ident(service: Service) -> str:
    # A change of the service (an operation's end) starts a new window: its log is worth reading again.
    changed = service.last_changed_at.timestamp() if service.last_changed_at else 0
    return f"{service.pk}:{changed:.0f}"


def _service_stale(service: Service) -> bool:
    history_behind = (service.history_synced_at is not None and service.last_changed_at is not None
                      and service.last_changed_at > service.history_synced_at)
    return history_behind or _older_than(service.detail_attempted_at, SERVICE_REFRESH_SECONDS)


def service_refresh_request(*, tenant: Tenant, service: Service) -> bool:
    """Have one service and IES's operation log of it read from IES in the background (at most
    once per window). True when one was sent."""
    if service.gone_at is not None:
        return False  # IES has nothing more to say about a deleted service
    return _request_refresh("service", _service_ident(service), window=SERVICE_REFRESH_SECONDS,
                            send=lambda: dispatch.refresh_service(tenant.pk, service.pk))


def service_refresh_now(*, tenant: Tenant, service: Service) -> str:
    """"Refresh from IES" on a service's page (see _force_refresh)."""
    if service.gone_at is not None:
        return REFRESH_NOT_SENT
    return _force_refresh("service", _service_ident(service), window=SERVICE_REFRESH_SECONDS,
                          send=lambda: dispatch.refresh_service(tenant.pk, service.pk),
                          attempted_at=service.detail_attempted_at)


@lru_cache(maxsize=1024)
def _page_service_sql(vendor: str, badge: tuple[tuple[str, str, tuple], ...]) -> Compiled:
    """service_page_or_404's query: the tenant's service by IES id, with the badge's counts
    (`badge`: badge_subqueries' SQL, per tenant and reader)."""
    counts = {name: RawSQL(sql, params, output_field=IntegerField()) for name, sql, params in badge}
    services = service_lookup(include_gone=True).filter(tenant_id=_TENANT_SLOT, ies_service_id=_SERVICE_ID_SLOT)
    return compile_query(services.annotate(**counts).order_by("pk")[:1])


def service_detail(*, tenant: Tenant, service: Service, poll: int | None = None,
                   reader: Membership | None = None) -> ServiceDetail:
    """The service as the mirror knows it, with the history merged from IES's log as last read
    and the portal's own operations; asks for a background refresh when that is old (or older
    than the service's last change). With a reader, the header badge: `service` as
    service_page_or_404(reader=…) read it, plus the service's own operations."""
    gone = service.gone_at is not None
    # A deleted service is never refreshed: IES has nothing more to say about it.
    refreshing = not gone and _refresh_when_old(
        "service", _service_ident(service), old=poll is None and _service_stale(service),
        window=SERVICE_REFRESH_SECONDS, send=lambda: dispatch.refresh_service(tenant.pk, service.pk),
        attempted_at=service.detail_attempted_at)
    # A deleted service's troubles are not this page's: IES has nothing to say about it.
    freshness = Freshness(as_of=service.last_synced_at, refreshing=refreshing,
                          trouble=None if gone else _trouble(service.detail_trouble),
                          next_poll=_next_poll(refreshing, poll))
    # With a reader, the badge counts the service's running and stopped operations from these rows
    # (the 100 newest: one that old and still running or stopped would be missed from it).
    ours = list(Operation.objects.raw(*_operations_of(service)))
    return ServiceDetail(service=service, freshness=freshness,
                         history=merge_history(remote_operations(service), ours),
                         in_flight=next((op for op in ours if op.in_flight), None),
                         history_known=service.history_synced_at is not None,
                         badge=badge_from(service, extra=badge_of(ours)) if reader is not None else None)


# The detail page's own queries, compiled once per process as the list's are (see _rows_sql).
OPERATIONS_SHOWN, AUDIT_SHOWN = 100, 50


@lru_cache(maxsize=8)
def _detail_sql(vendor: str, which: str) -> Compiled:
    if which == "operations":
        # Who asked, by name (merge_history): a join, not the user's row, which raw SQL cannot carry.
        operations = Operation.objects.filter(service_id=_SERVICE_SLOT).annotate(
            requested_by_name=F("requested_by__username"))
        return compile_query(operations.order_by("-created_at")[:OPERATIONS_SHOWN])
    trail = service_audit_trail(tenant=Tenant(pk=_TENANT_SLOT), service=Service(ies_service_id=_SERVICE_ID_SLOT))
    return compile_query(trail[:AUDIT_SHOWN])


def _operations_of(service: Service) -> tuple[str, list[Any]]:
    compiled = _detail_sql(connection.vendor, "operations")
    return compiled.sql, _bind(compiled, {_SERVICE_SLOT: service.pk})


def service_audit(*, tenant: Tenant, service: Service) -> list[AuditEvent]:
    """The service's audit trail as its page shows it (service_audit_trail, the newest AUDIT_SHOWN)."""
    compiled = _detail_sql(connection.vendor, "audit")
    return list(AuditEvent.objects.raw(compiled.sql, _bind(compiled, {_TENANT_SLOT: tenant.pk,
                                                                      _SERVICE_ID_SLOT: service.ies_service_id})))


def _asker(op: Operation) -> str:
    """Who asked for the operation: the name read with it (_detail_sql), else the user's; what
    acted (a policy) when no person did."""
    if hasattr(op, "requested_by_name"):
        return op.requested_by_name or op.actor_name
    return op.asker


def _word(enum: type[ies.OperationKind] | type[ies.OperationResult], value: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        return value  # a word of an IES newer than the portal, passed through


def remote_operations(service: Service) -> list[ies.Operation]:
    """IES's operation log of the service as the background refresh last stored it."""
    operations = []
    for entry in service.remote_history or []:
        started = entry.get("started_at")
        operations.append(ies.Operation(
            operation_id=entry.get("operation_id", ""), service_id=service.ies_service_id,
            kind=_word(ies.OperationKind, entry.get("kind", "")), done=bool(entry.get("done")),
            result=_word(ies.OperationResult, entry["result"]) if entry.get("result") else None,
            reason=entry.get("reason", ""), started_at=datetime.fromisoformat(started) if started else None))
    return operations


def merge_history(remote: list[ies.Operation], ours: list[Operation]) -> list[HistoryEntry]:
    """IES's log and the portal's records, one line per operation: who asked comes from the
    portal, what happened from IES when it knows."""
    by_ies_id = {op.ies_operation_id: op for op in ours if op.ies_operation_id}
    entries: list[HistoryEntry] = []
    for r in remote:
        mine = by_ies_id.pop(r.operation_id, None)
        outcome, reason = (RUNNING if not r.done else (r.result or "")), r.reason
        if not r.done and mine is not None and mine.finished_at is not None:
            # IES's log is the one last fetched (in the background): where it still says running but
            # the portal has since seen the operation end, the portal's record is the newer word.
            outcome, reason = mine.state, mine.message
        entries.append(HistoryEntry(at=r.started_at, kind=r.kind, outcome=outcome, reason=reason,
                                    who=_asker(mine) if mine else "",
                                    operation=mine))
    for op in ours:
        if op.ies_operation_id and op.ies_operation_id not in by_ies_id:
            continue  # already merged above
        entries.append(HistoryEntry(at=op.submitted_at or op.created_at, kind=op.get_kind_display(),
                                    outcome=op.state, reason=op.message,
                                    who=_asker(op), operation=op))
    return sorted(entries, key=lambda e: e.at or timezone.now(), reverse=True)


# -- bandwidth editor -------------------------------------------------------------------------


@dataclass(frozen=True)
class UsagePreview:
    """The line's traffic over a window, computed exactly as the traffic chart computes its figures
    (portal.traffic.selectors): the editor and the chart's "Scale bandwidth to …" agree."""

    peak_bps: float | None  # the higher direction's peak
    p95_bps: float | None  # the busier direction's p95: what the chart's suggestion is made from
    window_label: str  # "Last 7 days", "Last 24 hours", "2026-11-30 10:00 to 2026-12-01 10:00"
    how: str  # "maximum per hour": the values the figures come from
    suggestion: Suggestion | None = None
    # IES failed and the figures come from the traffic cached earlier: says so, and from when.
    cached_note: str = ""

    def utilisation_at(self, kbps: int | None, which: str = "peak") -> float | None:
        value = self.peak_bps if which == "peak" else self.p95_bps
        if value is None or not kbps:
            return None
        return round(100 * value / (kbps * 1000), 1)


_UNAVAILABLE = "unavailable"
DEFAULT_PREVIEW_WINDOW = {"range": "7d"}
WINDOW_KEYS = ("start", "end", "timedim", "indicator")


def _window_label(trange: TimeRange, *, now: int, default: bool) -> str:
    from portal.traffic import ranges

    for preset, seconds in ranges.PRESETS.items():
        # A preset's range is widened to whole buckets (one more at most), and the chart's live
        # ranges end at the minute (or hour) the link was made: "last" still fits both.
        if 0 <= trange.span - seconds <= trange.interval and (default or now - trange.end <= 2 * trange.interval):
            return _("Last %(span)s") % {"span": ranges.PRESET_LABELS[preset]}
    local = ranges.zone()
    fmt = "%Y-%m-%d %H:%M"
    return _("%(start)s to %(end)s") % {"start": datetime.fromtimestamp(trange.start, local).strftime(fmt),
                                         "end": datetime.fromtimestamp(trange.end, local).strftime(fmt)}


def usage_preview(*, tenant: Tenant, service: Service, window: dict[str, str] | None = None) -> UsagePreview | None:
    """Peak and p95 of the line over ``window`` (the chart's query: start, end, timedim, indicator;
    by default the last 7 days by the hour), with the suggestion the chart makes from them.

    None when IES cannot say right now (or the window makes no sense): the editor says so and works
    without figures. A failure is remembered for a minute, so that an editor re-rendered after a bad
    value does not wait for a slow IES again just to leave the figures out once more.
    """
    import time

    from portal.traffic import ranges, selectors

    if not service.cloud_vpn_name:
        return None
    now = int(time.time())
    params = {key: value for key, value in (window or {}).items() if key in WINDOW_KEYS and value}
    default = "start" not in params
    try:
        end_given = ranges.parse_time(params["end"], name="end") if "end" in params else now
        # "now" is when the chart computed its figures (the link's end), so the window is the same
        # buckets the chart read, not one that has since moved on by a minute.
        trange = ranges.parse(DEFAULT_PREVIEW_WINDOW if default else params, now=min(now, end_given))
    except ranges.RangeError:
        return None
    window_key = (f"usage-preview:{tenant.pk}:{service.cloud_vpn_name}:{trange.start}:{trange.end}:"
                  f"{trange.timedim}:{trange.indicator}")
    # The preview holds sentences (the window, the suggestion's explanation): one per language.
    key = f"{window_key}:{get_language()}"
    if cache.get(window_key) == _UNAVAILABLE:
        return None
    cached = cache.get(key)
    if cached is not None:
        return cached
    try:
        chart = selectors.chart_for_connection(tenant=tenant, service=service, trange=trange,
                                               width=selectors.DEFAULT_WIDTH, now=now)
    except (IESError, TenantNotConfigured):
        cache.set(window_key, _UNAVAILABLE, 60)
        return None
    figs = chart.figures
    peaks = [d.peak_bps for d in (figs.inbound, figs.outbound) if d.peak_bps is not None]
    preview = UsagePreview(peak_bps=max(peaks) if peaks else None, p95_bps=figs.p95_bps,
                           window_label=_window_label(trange, now=now, default=default),
                           how=f"{trange.indicator_label} {trange.timedim_label}", suggestion=chart.suggestion,
                           cached_note=chart.stale.figures_note if chart.stale else "")
    # Figures from the cache alone are kept no longer than a failure is: fresh ones once IES answers.
    cache.set(key, preview, 60 if chart.stale else 300)
    return preview


def bandwidth_writers(*, tenant: Tenant) -> list[str]:
    """Who in the tenant may change a bandwidth (members, not viewers): whom a viewer can ask."""
    from portal.core.natural import natural_sorted
    from portal.tenants.models import Membership, Role

    names = Membership.objects.filter(tenant=tenant, role=Role.MEMBER, user__is_active=True).values_list(
        "user__username", flat=True)
    return natural_sorted(names)


@dataclass(frozen=True)
class ExpectedDuration:
    seconds: float
    learned: bool
    samples: int

    @property
    def minutes(self) -> int:
        return max(1, round(self.seconds / 60))


def bandwidth_change_expectation(*, service: Service) -> ExpectedDuration:
    """How long a bandwidth change of this service usually takes, learned from earlier ones (the
    same expectation the operation page starts from)."""
    from portal.operations.models import OperationKind
    from portal.operations.selectors import expectation_for

    expectation = expectation_for(kind=OperationKind.MODIFY, definition_id=service.service_definition_id or "")
    return ExpectedDuration(seconds=expectation.median_s, learned=expectation.learned, samples=expectation.samples)

"""What the service pages read: IES first (throttled, with short timeouts), the mirror as the fallback."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from ies_client import models as ies
from ies_client.errors import IESAuthError, IESError, IESNotFound
from portal.operations.models import IN_FLIGHT_STATES, Operation
from portal.services.mirror import service_mirror_forget, service_mirror_sync, service_mirror_upsert
from portal.services.models import Service
from portal.services.selectors import service_last_sync_for_tenant, service_list_for_tenant
from portal.services.status_words import RUNNING
from portal.tenants.access import current_membership, tenant_object_for_writer_or_404, tenant_object_or_404
from portal.tenants.ies import TenantNotConfigured, ies_for_tenant
from portal.tenants.ies_errors import Trouble, describe
from portal.tenants.models import Membership, Tenant

if TYPE_CHECKING:
    from portal.traffic.ranges import TimeRange
    from portal.traffic.stats import Suggestion

log = logging.getLogger(__name__)

# A page load asks IES for the list at most this often per tenant; in between, and whenever IES
# fails, the mirror answers (kept fresh by the periodic sync and by every operation's outcome).
LIST_SYNC_SECONDS = 10
PAGE_SIZE = 50
# Names sort the way people count ("site2" before "site10"): by the stored natural key, then the
# name itself so that keys equal but for case keep a fixed order across pages.
SORTS = {
    "name": ("name_key", "name"), "-name": ("-name_key", "-name"),
    "bandwidth": ("bandwidth_kbps", "name_key", "name"), "-bandwidth": ("-bandwidth_kbps", "name_key", "name"),
    "status": ("status", "name_key", "name"), "-status": ("-status", "name_key", "name"),
    "changed": ("last_changed_at", "name_key", "name"), "-changed": ("-last_changed_at", "name_key", "name"),
}


@dataclass
class ServiceListing:
    page: Page
    live: bool  # True: IES answered just now (or within the throttle); False: last known state
    last_synced_at: datetime | None
    problem: str = ""
    advice: str = ""
    total: int = 0
    in_flight: dict[int, Operation] = field(default_factory=dict)  # service pk → its running operation

    @property
    def services(self) -> list[Service]:
        # service_listing puts the page's rows there as a list.
        return cast("list[Service]", self.page.object_list)


def _refresh_from_ies(tenant: Tenant) -> Trouble | None:
    """Sync the mirror from IES unless that happened moments ago. None when the mirror is current."""
    key = f"service-list-sync:{tenant.pk}"
    if cache.get(key):
        return None
    try:
        service_mirror_sync(tenant=tenant, for_page=True)
    except (IESError, TenantNotConfigured) as exc:
        if not isinstance(exc, TenantNotConfigured):
            log.warning("IES list failed for tenant %s: %s", tenant.name, type(exc).__name__)
        trouble = describe(exc)
        # A passing IES failure leaves the last known list useful; a token problem needs an admin.
        if isinstance(exc, IESError) and not isinstance(exc, IESAuthError):
            return Trouble(trouble.problem, _("The list below is the last one we received. Try again in a minute."))
        return trouble
    cache.set(key, 1, LIST_SYNC_SECONDS)
    return None


def filtered_services(*, tenant: Tenant, q: str = "", status: str = "", kind: str = "", sort: str = "name") -> QuerySet[Service]:
    services = service_list_for_tenant(tenant=tenant)
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


def service_list_refresh_requested(*, tenant: Tenant) -> None:
    """The next listing asks IES at once, whatever the throttle says ("Refresh from IES")."""
    cache.delete(f"service-list-sync:{tenant.pk}")


# A page's lookup that misses asks IES at most this often per tenant.
MISS_REFRESH_SECONDS = 30


def service_mirror_refresh_on_miss(*, tenant: Tenant) -> bool:
    """A page looked for a service the mirror does not have: it may simply not know it yet (made
    elsewhere, first visit). Ask IES once, at most every MISS_REFRESH_SECONDS per tenant, with the
    tenant's own token. True when the mirror was refreshed, so that the lookup is worth repeating."""
    if not cache.add(f"mirror-refresh:{tenant.pk}", 1, MISS_REFRESH_SECONDS):
        return False
    try:
        service_mirror_sync(tenant=tenant, for_page=True)
    except (IESError, TenantNotConfigured):
        return False
    return True


def service_or_404(request: HttpRequest, services: QuerySet[Service], /, *, for_writer: bool = False,
                   **lookup: Any) -> tuple[Membership, Service]:
    """The request's tenant's service matching `lookup`, through the access chokepoint (the writer
    variant for a change). A miss may only mean that the mirror has not heard of the service yet:
    then the mirror asks IES (see service_mirror_refresh_on_miss) and the lookup is repeated."""
    fetch = tenant_object_for_writer_or_404 if for_writer else tenant_object_or_404
    try:
        return fetch(request, services, **lookup)
    except Http404:
        membership = current_membership(request)
        if membership is None or not service_mirror_refresh_on_miss(tenant=membership.tenant):
            raise
    return fetch(request, services, **lookup)


def service_listing(*, tenant: Tenant, q: str = "", status: str = "", kind: str = "", sort: str = "name",
                    page: int | str = 1) -> ServiceListing:
    trouble = _refresh_from_ies(tenant)
    services = filtered_services(tenant=tenant, q=q, status=status, kind=kind, sort=sort)
    paginator = Paginator(services, PAGE_SIZE)
    current = paginator.get_page(page)
    rows = list(current.object_list)
    current.object_list = rows  # evaluated once; the template and the views share these rows
    running = Operation.objects.filter(service__in=rows, state__in=IN_FLIGHT_STATES).order_by("created_at")
    return ServiceListing(
        page=current,
        live=trouble is None,
        last_synced_at=service_last_sync_for_tenant(tenant=tenant),
        problem=trouble.problem if trouble else "",
        advice=trouble.advice if trouble else "",
        total=paginator.count,
        in_flight={op.service_id: op for op in running if op.service_id is not None},
    )


def status_choices(*, tenant: Tenant) -> list[str]:
    return list(service_list_for_tenant(tenant=tenant).order_by("status").values_list("status", flat=True).distinct())


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
    live: bool
    trouble: Trouble | None
    history: list[HistoryEntry]
    in_flight: Operation | None


def service_detail(*, tenant: Tenant, service: Service) -> ServiceDetail:
    """The service as IES reports it now (mirror updated), with its merged operation history."""
    trouble: Trouble | None = None
    remote_ops: list[ies.Operation] = []
    if service.gone_at is None:
        try:
            client = ies_for_tenant(tenant, for_page=True)
            service = service_mirror_upsert(tenant=tenant, remote=client.get_service(service.ies_service_id))
            try:
                remote_ops = client.list_operations(service.ies_service_id)
            except IESNotFound:
                remote_ops = []  # an IES without the operations endpoint
        except IESNotFound:
            # Deleted at IES: the page says so once, with the "deleted" notice, not as a trouble.
            service_mirror_forget(tenant=tenant, ies_service_id=service.ies_service_id)
            service.refresh_from_db()
        except (IESError, TenantNotConfigured) as exc:
            trouble = describe(exc)
    # A deleted service is not asked about: IES has nothing to say, and its troubles are not this page's.
    ours = list(service.operations.select_related("requested_by").order_by("-created_at")[:100])
    return ServiceDetail(service=service, live=trouble is None, trouble=trouble,
                         history=merge_history(remote_ops, ours),
                         in_flight=next((op for op in ours if op.in_flight), None))


def merge_history(remote: list[ies.Operation], ours: list[Operation]) -> list[HistoryEntry]:
    """IES's log and the portal's records, one line per operation: who asked comes from the
    portal, what happened from IES when it knows."""
    by_ies_id = {op.ies_operation_id: op for op in ours if op.ies_operation_id}
    entries: list[HistoryEntry] = []
    for r in remote:
        mine = by_ies_id.pop(r.operation_id, None)
        outcome = RUNNING if not r.done else (r.result or "")
        entries.append(HistoryEntry(at=r.started_at, kind=r.kind, outcome=outcome, reason=r.reason,
                                    who=mine.requested_by.get_username() if mine and mine.requested_by else "",
                                    operation=mine))
    for op in ours:
        if op.ies_operation_id and op.ies_operation_id not in by_ies_id:
            continue  # already merged above
        entries.append(HistoryEntry(at=op.submitted_at or op.created_at, kind=op.get_kind_display(),
                                    outcome=op.state, reason=op.message,
                                    who=op.requested_by.get_username() if op.requested_by else "", operation=op))
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
                           how=f"{trange.indicator_label} {trange.timedim_label}", suggestion=chart.suggestion)
    cache.set(key, preview, 300)
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

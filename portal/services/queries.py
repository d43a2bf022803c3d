"""What the service pages read: IES first (throttled, with short timeouts), the mirror as the fallback."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from ies_client.errors import IESAuthError, IESError, IESNotFound
from ies_client.models import Operation as IESOperation
from portal.core.ies_errors import Trouble, describe
from portal.operations.models import IN_FLIGHT_STATES, Operation
from portal.services.models import Service
from portal.services.selectors import service_last_sync_for_tenant, service_list_for_tenant
from portal.services.services import service_mirror_forget, service_mirror_sync, service_mirror_upsert
from portal.tenants.ies import TenantNotConfigured, ies_for_tenant
from portal.tenants.models import Tenant

log = logging.getLogger(__name__)

# A page load asks IES for the list at most this often per tenant; in between, and whenever IES
# fails, the mirror answers (kept fresh by the periodic sync and by every operation's outcome).
LIST_SYNC_SECONDS = 10
PAGE_SIZE = 50
SORTS = {
    "name": ("name",), "-name": ("-name",),
    "bandwidth": ("bandwidth_kbps", "name"), "-bandwidth": ("-bandwidth_kbps", "name"),
    "status": ("status", "name"), "-status": ("-status", "name"),
    "changed": ("last_changed_at", "name"), "-changed": ("-last_changed_at", "name"),
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
        return self.page.object_list


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
        services = services.filter(Q(name__icontains=q) | Q(cloud_vpn_name__icontains=q) | Q(ies_service_id=q))
    if status:
        services = services.filter(status=status)
    if kind:
        services = services.filter(kind=kind)
    return services.order_by(*SORTS.get(sort, SORTS["name"]))


def service_listing(*, tenant: Tenant, q: str = "", status: str = "", kind: str = "", sort: str = "name",
                    page: int | str = 1, force: bool = False) -> ServiceListing:
    if force:
        cache.delete(f"service-list-sync:{tenant.pk}")
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
        in_flight={op.service_id: op for op in running},
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
    remote_ops: list[IESOperation] = []
    try:
        ies = ies_for_tenant(tenant, for_page=True)
        service = service_mirror_upsert(tenant=tenant, remote=ies.get_service(service.ies_service_id))
        try:
            remote_ops = ies.list_operations(service.ies_service_id)
        except IESNotFound:
            remote_ops = []  # an IES without the operations endpoint
    except IESNotFound:
        service_mirror_forget(tenant=tenant, ies_service_id=service.ies_service_id)
        service.refresh_from_db()
        trouble = Trouble(_("IES no longer knows this service: it was deleted."), _("Its history stays readable here."))
    except (IESError, TenantNotConfigured) as exc:
        trouble = describe(exc)
    ours = list(service.operations.select_related("requested_by").order_by("-created_at")[:100])
    return ServiceDetail(service=service, live=trouble is None, trouble=trouble,
                         history=merge_history(remote_ops, ours),
                         in_flight=next((op for op in ours if op.in_flight), None))


def merge_history(remote: list[IESOperation], ours: list[Operation]) -> list[HistoryEntry]:
    """IES's log and the portal's records, one line per operation: who asked comes from the
    portal, what happened from IES when it knows."""
    by_ies_id = {op.ies_operation_id: op for op in ours if op.ies_operation_id}
    entries: list[HistoryEntry] = []
    for r in remote:
        mine = by_ies_id.pop(r.operation_id, None)
        outcome = "running" if not r.done else (r.result or "")
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


# -- bandwidth preview ------------------------------------------------------------------------


@dataclass(frozen=True)
class UsagePreview:
    peak_bps: float | None
    p95_bps: float | None
    window_days: int

    def utilisation_at(self, kbps: int | None, which: str = "peak") -> float | None:
        value = self.peak_bps if which == "peak" else self.p95_bps
        if value is None or not kbps:
            return None
        return round(100 * value / (kbps * 1000), 1)


_UNAVAILABLE = "unavailable"


def usage_preview(*, tenant: Tenant, service: Service, days: int = 7) -> UsagePreview | None:
    """Recent peak and p95 of the line's rate (both directions, hourly maxima), cached briefly.

    None when IES cannot say right now: the editor then simply shows no preview.
    """
    if not service.cloud_vpn_name:
        return None
    key = f"usage-preview:{tenant.pk}:{service.cloud_vpn_name}:{days}"
    cached = cache.get(key)
    if cached is not None:
        return None if cached == _UNAVAILABLE else cached
    end = timezone.now().replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    values: list[float] = []
    try:
        ies = ies_for_tenant(tenant, for_page=True)
        for direction in ("inbound", "outbound"):
            series = ies.get_traffic(service.cloud_vpn_name, metric="traffic-rate", start=start, end=end,
                                     timedim="hour", direction=direction, indicator="max")
            values.extend(series.values())
    except (IESError, TenantNotConfigured):
        # Remember the failure for a minute: an editor re-rendered after a bad value must not wait
        # for a slow IES again just to leave the preview out once more.
        cache.set(key, _UNAVAILABLE, 60)
        return None
    if not values:
        preview = UsagePreview(peak_bps=None, p95_bps=None, window_days=days)
    else:
        ordered = sorted(values)
        preview = UsagePreview(peak_bps=ordered[-1], p95_bps=ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
                               window_days=days)
    cache.set(key, preview, 300)
    return preview

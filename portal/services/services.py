"""State changes of the service mirror."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from ies_client.errors import IESError, IESNotFound
from ies_client.models import Service as IESService
from portal.services.models import Service, name_sort_key
from portal.tenants.ies import ies_for_tenant
from portal.tenants.models import Tenant


def _mirror_fields(remote: IESService) -> dict:
    return {
        "name": remote.name,
        "name_key": name_sort_key(remote.name),  # bulk writes bypass Service.save()
        "description": remote.description or "",
        "kind": remote.kind.value if remote.kind else "",
        "cloud_vpn_name": remote.cloud_vpn_name or "",
        "bandwidth_kbps": remote.bandwidth_kbps,
        "status": remote.status or "",
        "active_status": remote.active_status or "",
        "parameters": dict(remote.parameters or {}),
        "service_definition_id": remote.service_definition_id or "",
        "template_id": remote.template_id or "",
        "ies_created_at": remote.created_at,
    }


@dataclass
class MirrorSync:
    services: list[Service]
    # Services whose detail the mirror lacks or may have outdated (new, or their status moved).
    needs_detail: list[str]


@transaction.atomic
def service_mirror_replace(*, tenant: Tenant, remote_services: Iterable[IESService]) -> MirrorSync:
    """Make the tenant's mirror equal to a complete list read from IES.

    Only rows that changed are written, so a large unchanged list costs one SELECT. Services IES
    no longer lists are marked gone (not deleted: their history stays readable).
    """
    now = timezone.now()
    existing = {s.ies_service_id: s for s in Service.objects.filter(tenant=tenant)}
    listed: list[Service] = []
    to_create: list[Service] = []
    to_update: list[Service] = []
    needs_detail: list[str] = []
    for remote in remote_services:
        fields = _mirror_fields(remote)
        row = existing.pop(remote.service_id, None)
        if row is None:
            row = Service(tenant=tenant, ies_service_id=remote.service_id, last_synced_at=now, last_changed_at=now,
                          **fields)
            to_create.append(row)
            listed.append(row)
            if not fields["parameters"]:
                needs_detail.append(remote.service_id)
            continue
        changed = row.gone_at is not None
        status_moved = (row.status, row.active_status) != (fields["status"], fields["active_status"])
        for key, value in fields.items():
            # A list item may carry less than the detail (IES-API.md): never forget what we knew.
            if value in (None, "", {}) and key in _DETAIL_ONLY_FIELDS:
                continue
            if getattr(row, key) != value:
                setattr(row, key, value)
                changed = True
        if changed:
            row.gone_at = None
            row.last_changed_at = now
            to_update.append(row)
        if not row.parameters or (status_moved and not fields["parameters"]):
            needs_detail.append(remote.service_id)
        listed.append(row)
    Service.objects.bulk_create(to_create, batch_size=500)
    if to_update:
        Service.objects.bulk_update(to_update, [*_MIRROR_FIELD_NAMES, "gone_at", "last_changed_at"], batch_size=500)
    vanished = [row.pk for row in existing.values() if row.gone_at is None]
    if vanished:
        Service.objects.filter(pk__in=vanished).update(gone_at=now)
    # One cheap UPDATE marks the whole list as seen now.
    Service.objects.filter(tenant=tenant, gone_at__isnull=True).update(last_synced_at=now)
    for row in listed:
        row.last_synced_at = now
    return MirrorSync(services=sorted(listed, key=lambda s: s.name), needs_detail=needs_detail)


_DETAIL_ONLY_FIELDS = {"cloud_vpn_name", "bandwidth_kbps", "parameters", "kind"}

_MIRROR_FIELD_NAMES = [
    "name",
    "name_key",
    "description",
    "kind",
    "cloud_vpn_name",
    "bandwidth_kbps",
    "status",
    "active_status",
    "parameters",
    "service_definition_id",
    "template_id",
    "ies_created_at",
]


def service_mirror_upsert(*, tenant: Tenant, remote: IESService) -> Service:
    """Record one service as IES just reported it (after a create, a change, a detail read)."""
    now = timezone.now()
    fields = _mirror_fields(remote)
    service = Service.objects.filter(tenant=tenant, ies_service_id=remote.service_id).first()
    if service is None:
        return Service.objects.create(tenant=tenant, ies_service_id=remote.service_id, last_synced_at=now,
                                      last_changed_at=now, **fields)
    changed = [key for key, value in fields.items() if getattr(service, key) != value]
    for key in changed:
        setattr(service, key, fields[key])
    if service.gone_at is not None:
        service.gone_at = None
        changed.append("gone_at")
    service.last_synced_at = now
    if changed:
        service.last_changed_at = now
    service.save(update_fields=[*changed, "last_synced_at", *(["last_changed_at"] if changed else [])])
    return service


def service_mirror_forget(*, tenant: Tenant, ies_service_id: str) -> None:
    """IES confirmed the service is gone: it leaves the lists, its history stays."""
    Service.objects.filter(tenant=tenant, ies_service_id=ies_service_id, gone_at__isnull=True).update(
        gone_at=timezone.now()
    )


def service_mirror_sync(*, tenant: Tenant, for_page: bool = False, detail_budget: int | None = None) -> list[Service]:
    """Read the tenant's services from IES and refresh the mirror. Raises the client's IESError.

    IES's list gives no parameters (no CloudVpnName, no bandwidth): the details of new or changed
    services are read too, at most `detail_budget` of them (a page must stay fast; the rest are
    left to the background sync, which is enqueued for them).
    """
    ies = ies_for_tenant(tenant, for_page=for_page)
    sync = service_mirror_replace(tenant=tenant, remote_services=ies.list_services())
    budget = (PAGE_DETAIL_BUDGET if for_page else TASK_DETAIL_BUDGET) if detail_budget is None else detail_budget
    wanted, rest = sync.needs_detail[:budget], sync.needs_detail[budget:]
    if wanted:
        refreshed = {s.ies_service_id: s for s in _read_details(tenant, ies, wanted)}
        sync.services = [refreshed.get(s.ies_service_id, s) for s in sync.services]
    if rest:
        from portal.services.tasks import sync_tenant_services

        transaction.on_commit(lambda: sync_tenant_services.delay(tenant.pk))
    return sync.services


PAGE_DETAIL_BUDGET = 24
TASK_DETAIL_BUDGET = 2000


def _read_details(tenant: Tenant, ies, service_ids: list[str]) -> list[Service]:
    """Read details a few at a time in parallel (IES answers each in tens of ms; a page waits)."""
    from concurrent.futures import ThreadPoolExecutor

    def read(service_id: str):
        try:
            return ies.get_service(service_id)
        except IESNotFound:
            return None  # deleted in between: the next list drops it
        except IESError:
            return None  # keep what we knew; the next sync tries again

    with ThreadPoolExecutor(max_workers=4) as pool:
        remotes = [r for r in pool.map(read, service_ids) if r is not None]
    return [service_mirror_upsert(tenant=tenant, remote=r) for r in remotes]


# -- changes a tenant asks for ----------------------------------------------------------------


class ChangeRefused(Exception):
    """A change the portal will not send to IES, with the reason in the tenant's words."""


@transaction.atomic
def service_bandwidth_change(*, membership, service: Service, new_kbps: int, request=None):
    """Start a tracked bandwidth change. Refused (ChangeRefused) while another change of the
    service is in flight, or when nothing would change."""
    from django.utils.translation import gettext as _

    from portal.operations.models import OperationKind
    from portal.operations.services import operation_start

    # Lock the row: of two tabs posting at once, the second waits and then sees the first's operation.
    locked = Service.objects.select_for_update().get(pk=service.pk, tenant=membership.tenant)
    _refuse_if_busy(locked)
    if locked.bandwidth_kbps == new_kbps:
        raise ChangeRefused(_("The service already has this bandwidth: nothing to change."))
    if not locked.cloud_vpn_name:
        raise ChangeRefused(_("The portal does not know this service's connection yet. Reload the page and try again."))
    list_key = f"{locked.kind}List" if locked.kind else "Site2DCList"
    return operation_start(
        tenant=membership.tenant, kind=OperationKind.MODIFY, requested_by=request.user if request else None,
        request=request, service=locked,
        before={"bandwidth_kbps": locked.bandwidth_kbps},
        after={"bandwidth_kbps": new_kbps, "cloud_vpn_name": locked.cloud_vpn_name, "list_key": list_key},
    )


@transaction.atomic
def service_delete(*, membership, service: Service, request=None):
    from portal.operations.models import OperationKind
    from portal.operations.services import operation_start

    locked = Service.objects.select_for_update().get(pk=service.pk, tenant=membership.tenant)
    _refuse_if_busy(locked)
    return operation_start(
        tenant=membership.tenant, kind=OperationKind.DELETE, requested_by=request.user if request else None,
        request=request, service=locked,
        before={"name": locked.name, "bandwidth_kbps": locked.bandwidth_kbps, "cloud_vpn_name": locked.cloud_vpn_name},
    )


def _refuse_if_busy(service: Service) -> None:
    from django.utils.translation import gettext as _

    from portal.operations.models import IN_FLIGHT_STATES, Operation

    running = Operation.objects.filter(service=service, state__in=IN_FLIGHT_STATES).first()
    if running is not None:
        raise ChangeRefused(
            _("Another change of this service is in progress (%(what)s, requested by %(who)s). "
              "IES accepts one change at a time: wait until it has finished.")
            % {"what": running.get_kind_display(), "who": running.requested_by.get_username() if running.requested_by else "?"}
        )
    if service.status.endswith("InProgress"):
        raise ChangeRefused(_("IES is still working on this service (%(status)s): wait until it has finished.")
                            % {"status": service.status})

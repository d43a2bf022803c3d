"""The service mirror: the portal's copy of each tenant's services as IES last reported them.

Pages read the mirror (selectors.py, queries.py) and never IES: IES is read to refresh it here,
in the background tasks (tasks.py) and after a change: a whole list (`service_mirror_sync`), one
service with IES's operation log (`service_mirror_refresh_one`), one service as IES just reported
it (`service_mirror_upsert`), or the end of a tracked operation (`record_operation_end`, a
receiver of the operations app's `operation_finished` signal, connected in apps.py). How each
background refresh went is recorded beside the mirror (`ServiceListRefresh`, the service's
`detail_*` fields), so that a page can say how fresh it is and why, without asking IES.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from ies_client import models as ies
from ies_client.errors import (
    IESAuthError,
    IESConflict,
    IESError,
    IESNotFound,
    IESProtocolError,
    IESUnavailable,
    IESValidationError,
)
from portal.operations.models import Operation
from portal.services import dispatch
from portal.services.models import Service, ServiceListRefresh, name_sort_key
from portal.tenants.ies import TenantNotConfigured, ies_for_tenant
from portal.tenants.models import Tenant

if TYPE_CHECKING:
    from ies_client.client import IESClient


def _mirror_fields(remote: ies.Service) -> dict:
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
def service_mirror_replace(*, tenant: Tenant, remote_services: Iterable[ies.Service]) -> MirrorSync:
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


def service_mirror_upsert(*, tenant: Tenant, remote: ies.Service) -> Service:
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
    client = ies_for_tenant(tenant, for_page=for_page)
    sync = service_mirror_replace(tenant=tenant, remote_services=client.list_services())
    budget = (PAGE_DETAIL_BUDGET if for_page else TASK_DETAIL_BUDGET) if detail_budget is None else detail_budget
    wanted, rest = sync.needs_detail[:budget], sync.needs_detail[budget:]
    if wanted:
        refreshed = {s.ies_service_id: s for s in _read_details(tenant, client, wanted)}
        sync.services = [refreshed.get(s.ies_service_id, s) for s in sync.services]
    if rest:
        transaction.on_commit(lambda: dispatch.sync_tenant(tenant.pk))
    return sync.services


PAGE_DETAIL_BUDGET = 24
TASK_DETAIL_BUDGET = 2000


def _read_details(tenant: Tenant, client: IESClient, service_ids: list[str]) -> list[Service]:
    """Read details a few at a time in parallel (IES answers each in tens of ms; a page waits)."""

    def read(service_id: str) -> ies.Service | None:
        try:
            return client.get_service(service_id)
        except IESNotFound:
            return None  # deleted in between: the next list drops it
        except IESError:
            return None  # keep what we knew; the next sync tries again

    with ThreadPoolExecutor(max_workers=4) as pool:
        remotes = [r for r in pool.map(read, service_ids) if r is not None]
    return [service_mirror_upsert(tenant=tenant, remote=r) for r in remotes]


def record_operation_end(sender: type[Operation], *, operation: Operation, remote: ies.Service | None,
                         gone: bool, **kwargs: Any) -> None:
    """Receiver of `operation_finished`: bring the mirror up to what IES said at the operation's end.

    It runs inside the transaction that finishes the operation, so the operation's outcome, its
    audit event and the mirror are seen together or not at all.
    """
    if gone:
        service_mirror_forget(tenant=operation.tenant, ies_service_id=operation.ies_service_id)
        return
    if remote is None:
        return
    service = service_mirror_upsert(tenant=operation.tenant, remote=remote)
    if operation.service_id != service.pk:
        # A created service's operation points at its new row from now on.
        Operation.objects.filter(pk=operation.pk).update(service=service)
        operation.service = service


# -- how the background refreshes went ----------------------------------------------------------

# A failure is recorded by the kind the pages describe (portal.tenants.ies_errors.describe), most
# specific first: the page rebuilds it by name and words it in the reader's language.
TROUBLE_KINDS: dict[str, type[Exception]] = {cls.__name__: cls for cls in (
    TenantNotConfigured, IESAuthError, IESUnavailable, IESNotFound, IESConflict, IESValidationError,
    IESProtocolError, IESError)}


def trouble_kind(exc: Exception) -> str:
    return next((name for name, cls in TROUBLE_KINDS.items() if isinstance(exc, cls)), IESError.__name__)


def service_list_refresh_record(*, tenant: Tenant, failure: Exception | None = None) -> None:
    """Note that the background refresh of the tenant's list has just run, and how it went."""
    now = timezone.now()
    fields: dict[str, Any] = {"attempted_at": now, "trouble": trouble_kind(failure) if failure else ""}
    if failure is None:
        fields["succeeded_at"] = now
    ServiceListRefresh.objects.update_or_create(tenant=tenant, defaults=fields)


def _history_entry(op: ies.Operation) -> dict[str, Any]:
    return {"operation_id": op.operation_id, "kind": str(op.kind), "done": op.done,
            "result": str(op.result) if op.result else None, "reason": op.reason,
            "started_at": op.started_at.isoformat() if op.started_at else None}


def service_mirror_refresh_one(*, tenant: Tenant, service_pk: int) -> Service | None:
    """Refresh one service from IES, with IES's operation log, and record how it went.

    A service IES no longer knows is marked gone (the page then says it was deleted). A failure
    keeps what the mirror knew and is recorded for the page to explain. None when the row is not
    the tenant's or is gone already.
    """
    service = Service.objects.filter(pk=service_pk, tenant=tenant, gone_at__isnull=True).first()
    if service is None:
        return None
    now = timezone.now()
    try:
        client = ies_for_tenant(tenant)
        remote = client.get_service(service.ies_service_id)
        try:
            operations = client.list_operations(service.ies_service_id)
        except IESNotFound:
            operations = []  # an IES without the operations endpoint
    except IESNotFound:
        service_mirror_forget(tenant=tenant, ies_service_id=service.ies_service_id)
        Service.objects.filter(pk=service.pk).update(detail_attempted_at=now, detail_trouble="")
        return None
    except (IESError, TenantNotConfigured) as exc:
        Service.objects.filter(pk=service.pk).update(detail_attempted_at=timezone.now(),
                                                     detail_trouble=trouble_kind(exc))
        return service
    with transaction.atomic():
        service = service_mirror_upsert(tenant=tenant, remote=remote)
        # Stamped after the answers arrived: a page that asked before this sees its request done.
        done = timezone.now()
        Service.objects.filter(pk=service.pk).update(
            remote_history=[_history_entry(op) for op in operations], history_synced_at=done,
            detail_attempted_at=done, detail_trouble="")
    service.refresh_from_db()
    return service

"""State changes of the service mirror."""

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from ies_client.models import Service as IESService
from portal.services.models import Service
from portal.tenants.ies import ies_for_tenant
from portal.tenants.models import Tenant


def _mirror_fields(remote: IESService) -> dict:
    return {
        "name": remote.name,
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


@transaction.atomic
def service_mirror_replace(*, tenant: Tenant, remote_services: Iterable[IESService]) -> list[Service]:
    """Make the tenant's mirror equal to a complete list read from IES.

    Services IES no longer lists are marked gone (not deleted: their history stays readable).
    """
    now = timezone.now()
    existing = {s.ies_service_id: s for s in Service.objects.select_for_update().filter(tenant=tenant)}
    seen: list[Service] = []
    to_create: list[Service] = []
    to_update: list[Service] = []
    for remote in remote_services:
        fields = _mirror_fields(remote)
        row = existing.pop(remote.service_id, None)
        if row is None:
            to_create.append(Service(tenant=tenant, ies_service_id=remote.service_id, last_synced_at=now, **fields))
            continue
        for key, value in fields.items():
            # A list item may carry less than the detail (IES-API.md): never forget what we knew.
            if value in (None, "", {}) and key in _DETAIL_ONLY_FIELDS:
                continue
            setattr(row, key, value)
        row.last_synced_at = now
        row.gone_at = None
        to_update.append(row)
    Service.objects.bulk_create(to_create, batch_size=500)
    if to_update:
        Service.objects.bulk_update(
            to_update, [*_MIRROR_FIELD_NAMES, "last_synced_at", "gone_at"], batch_size=500
        )
    vanished = [row.pk for row in existing.values() if row.gone_at is None]
    if vanished:
        Service.objects.filter(pk__in=vanished).update(gone_at=now)
    seen.extend(to_create)
    seen.extend(to_update)
    return sorted(seen, key=lambda s: s.name)


_DETAIL_ONLY_FIELDS = {"cloud_vpn_name", "bandwidth_kbps", "parameters", "kind"}

_MIRROR_FIELD_NAMES = [
    "name",
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
    """Record one service as IES just reported it (after a create or a change)."""
    service, _ = Service.objects.update_or_create(
        tenant=tenant, ies_service_id=remote.service_id,
        defaults={**_mirror_fields(remote), "last_synced_at": timezone.now(), "gone_at": None},
    )
    return service


def service_mirror_forget(*, tenant: Tenant, ies_service_id: str) -> None:
    """IES confirmed the service is gone: it leaves the lists, its history stays."""
    Service.objects.filter(tenant=tenant, ies_service_id=ies_service_id, gone_at__isnull=True).update(
        gone_at=timezone.now()
    )


def service_mirror_sync(*, tenant: Tenant, for_page: bool = False) -> list[Service]:
    """Read the tenant's services from IES and refresh the mirror. Raises the client's IESError."""
    remote = ies_for_tenant(tenant, for_page=for_page).list_services()
    return service_mirror_replace(tenant=tenant, remote_services=remote)

"""Changes a tenant asks for on one of their services: each starts a tracked operation.

The mirror's own updates (from IES's lists and from operations' ends) are in mirror.py.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from ies_client import models as ies
from portal.core.http import SignedInRequest
from portal.operations.models import IN_FLIGHT_STATES, Operation, OperationKind
from portal.operations.services import operation_start
from portal.services.models import Service
from portal.tenants.models import Membership, Tenant


class ChangeRefused(Exception):
    """A change the portal will not send to IES, with the reason in the tenant's words."""


class ServiceBusy(ChangeRefused):
    """Refused for now: another change of the service is in flight (it may be asked for again later)."""


def service_bandwidth_change(*, membership: Membership, service: Service, new_kbps: int,
                             request: SignedInRequest | None = None) -> Operation:
    """Start a tracked bandwidth change. Refused (ChangeRefused) while another change of the
    service is in flight, or when nothing would change."""
    return _bandwidth_change(tenant=membership.tenant, service=service, new_kbps=new_kbps, request=request)


def service_bandwidth_change_planned(*, tenant: Tenant, service: Service, new_kbps: int, actor_name: str) -> Operation:
    """A bandwidth change a policy planned: tracked and audited as a person's, the policy named as
    the actor. Refused as a person's is (ServiceBusy while another change is in flight)."""
    return _bandwidth_change(tenant=tenant, service=service, new_kbps=new_kbps, actor_name=actor_name)


@transaction.atomic
def _bandwidth_change(*, tenant: Tenant, service: Service, new_kbps: int, request: SignedInRequest | None = None,
                      actor_name: str = "") -> Operation:
    # Lock the row: of two tabs posting at once, the second waits and then sees the first's operation.
    locked = Service.objects.select_for_update().get(pk=service.pk, tenant=tenant)
    if locked.gone_at is not None:
        raise ChangeRefused(_("The service was deleted."))
    _refuse_if_busy(locked)
    if locked.bandwidth_kbps == new_kbps:
        raise ChangeRefused(_("The service already has this bandwidth: nothing to change."))
    if not locked.cloud_vpn_name:
        raise ChangeRefused(_("The portal does not know this service's connection yet. Reload the page and try again."))
    return operation_start(
        tenant=tenant, kind=OperationKind.MODIFY, requested_by=request.user if request else None,
        request=request, service=locked, actor_name=actor_name,
        before={"bandwidth_kbps": locked.bandwidth_kbps},
        after={"bandwidth_kbps": new_kbps, "cloud_vpn_name": locked.cloud_vpn_name},
    )


@transaction.atomic
def service_delete(*, membership: Membership, service: Service, request: SignedInRequest | None = None) -> Operation:
    locked = Service.objects.select_for_update().get(pk=service.pk, tenant=membership.tenant)
    _refuse_if_busy(locked)
    return operation_start(
        tenant=membership.tenant, kind=OperationKind.DELETE, requested_by=request.user if request else None,
        request=request, service=locked,
        before={"name": locked.name, "bandwidth_kbps": locked.bandwidth_kbps, "cloud_vpn_name": locked.cloud_vpn_name},
    )


def _refuse_if_busy(service: Service) -> None:
    running = Operation.objects.filter(service=service, state__in=IN_FLIGHT_STATES).first()
    if running is not None:
        raise ServiceBusy(
            _("Another change of this service is in progress (%(what)s, requested by %(who)s). "
              "IES accepts one change at a time: wait until it has finished.")
            % {"what": running.get_kind_display(), "who": running.asker or "?"}
        )
    if ies.in_progress(service.status):
        raise ServiceBusy(_("IES is still working on this service (%(status)s): wait until it has finished.")
                            % {"status": service.status})

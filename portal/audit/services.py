"""Writing the audit trail. Every state change of the portal records one event through here."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest

from portal.audit.models import AuditEvent, Outcome
from portal.tenants.throttle import counted_address

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from portal.operations.models import Operation
    from portal.tenants.models import Tenant


def _networks(entries: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


def _parse(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_address(request: HttpRequest | None) -> str | None:
    """The address a request came from, as the audit log and the login throttle count it.

    X-Forwarded-For is believed only from a proxy in TRUSTED_PROXIES (addresses or networks): each
    proxy appends the address it saw, so the answer is the right-most entry that is not itself one of
    those proxies. Entries further left are whatever the client wrote, and a client connecting
    directly (REMOTE_ADDR not a trusted proxy) may write the whole header: trusting either would let
    anyone pick the address they are recorded and throttled as.
    """
    if request is None:
        return None
    from django.conf import settings

    remote = _parse(request.META.get("REMOTE_ADDR") or "")
    if remote is None:
        return request.META.get("REMOTE_ADDR") or None
    trusted = _networks(settings.TRUSTED_PROXIES)
    nearest = remote
    if any(remote in network for network in trusted):
        for entry in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
            hop = _parse(entry)
            if hop is None:
                break  # not what a proxy writes: stop at the last hop a trusted proxy vouched for
            nearest = hop
            if not any(hop in network for network in trusted):
                break
    return str(nearest)


def throttle_address(request: HttpRequest | None) -> str | None:
    """The address the login throttle counts (AXES_CLIENT_IP_CALLABLE): `client_address`, an IPv6
    one reduced to its /64 (throttle.counted_address says why)."""
    return counted_address(client_address(request))


def audit_record(
    *,
    action: str,
    actor: User | None = None,
    tenant: Tenant | None = None,
    obj: Any = None,
    object_type: str = "",
    object_id: str = "",
    object_label: str = "",
    before: dict | None = None,
    after: dict | None = None,
    outcome: str = Outcome.REQUESTED,
    message: str = "",
    request: HttpRequest | None = None,
    operation: Operation | None = None,
    address: str | None = None,
    actor_name: str = "",
) -> AuditEvent:
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_label = object_label or str(obj)
    if actor is None and request is not None and getattr(request, "user", None) and request.user.is_authenticated:
        actor = request.user
    # Sent with an API token (portal.api.auth): the event names it, never its secret.
    via_token = getattr(request, "api_token_label", "") if request is not None else ""
    return AuditEvent.objects.create(
        action=action,
        actor=actor,
        # No person: what acted is named instead (a bandwidth policy).
        actor_name=actor.get_username() if actor else actor_name[:150],
        tenant=tenant,
        tenant_name=tenant.name if tenant else "",
        object_type=object_type,
        object_id=object_id,
        object_label=object_label[:255],
        before=before,
        after=after,
        outcome=outcome,
        message=message,
        # Outcomes are written by a worker, long after the request: it passes the requester's address.
        client_address=client_address(request) if request is not None else address,
        operation=operation,
        via_token=via_token[:150],
    )

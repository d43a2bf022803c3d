"""Writing the audit trail. Every state change of the portal records one event through here."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest

from portal.audit.models import AuditEvent, Outcome

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from portal.operations.models import Operation
    from portal.tenants.models import Tenant


def client_address(request: HttpRequest | None) -> str | None:
    """The address a request came from, as the audit log and the login throttle (AXES_CLIENT_IP_CALLABLE)
    count it.

    Behind the TLS proxy (BEHIND_TLS_PROXY) it is the last X-Forwarded-For entry: the one the proxy
    added. Entries left of it are whatever the client sent, so trusting the first would let anyone
    pick the address they are recorded and throttled as. Without the proxy the header is ignored.
    """
    if request is None:
        return None
    from django.conf import settings

    if settings.SECURE_PROXY_SSL_HEADER and request.META.get("HTTP_X_FORWARDED_FOR"):
        forwarded = request.META["HTTP_X_FORWARDED_FOR"].split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(forwarded))
        except ValueError:
            pass  # not what a proxy writes: the connection's own address instead
    return request.META.get("REMOTE_ADDR") or None


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
) -> AuditEvent:
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_label = object_label or str(obj)
    if actor is None and request is not None and getattr(request, "user", None) and request.user.is_authenticated:
        actor = request.user
    return AuditEvent.objects.create(
        action=action,
        actor=actor,
        actor_name=actor.get_username() if actor else "",
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
    )

"""THE tenant checks. Every lookup of tenant data starts here.

A portal user acts for one tenant at a time (the one chosen in the session, else their first).
Another tenant's object is a 404, never a 403, so that its existence is not revealed; a viewer's
attempt to change something is a 403.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _

from portal.tenants.models import Membership, Role, Tenant

SESSION_TENANT_KEY = "portal_tenant_id"
# A staff user looking at a tenant's pages ("see as tenant"): always read-only.
SESSION_SEE_AS_KEY = "portal_see_as_tenant_id"


def memberships_of(user) -> list[Membership]:
    if not user.is_authenticated:
        return []
    return list(
        Membership.objects.filter(user=user, tenant__is_active=True)
        .select_related("tenant")
        .order_by("tenant__name")
    )


def request_memberships(request: HttpRequest) -> list[Membership]:
    """The user's memberships, read once per request (the page and its header both need them)."""
    if not hasattr(request, "_portal_memberships"):
        request._portal_memberships = memberships_of(request.user)
    return request._portal_memberships


def current_membership(request: HttpRequest) -> Membership | None:
    """The membership the request acts under, cached on the request."""
    if hasattr(request, "_portal_membership"):
        return request._portal_membership
    see_as = request.session.get(SESSION_SEE_AS_KEY) if hasattr(request, "session") else None
    if see_as and request.user.is_authenticated and request.user.is_staff:
        tenant = Tenant.objects.filter(pk=see_as).first()
        if tenant is not None:
            # Never saved: a viewer membership that exists only for this request.
            membership = Membership(user=request.user, tenant=tenant, role=Role.VIEWER)
            membership.impersonated = True
            request._portal_membership = membership
            return membership
    memberships = request_memberships(request)
    chosen = request.session.get(SESSION_TENANT_KEY) if hasattr(request, "session") else None
    membership = next((m for m in memberships if m.tenant_id == chosen), memberships[0] if memberships else None)
    request._portal_membership = membership
    return membership


def require_membership(request: HttpRequest) -> Membership:
    """The request's membership, or 404: a user outside every tenant sees no tenant data."""
    membership = current_membership(request)
    if membership is None:
        raise Http404("no tenant")
    return membership


class AccessRefused(PermissionDenied):
    """A 403 whose message is meant for the person refused: the 403 page shows it as the reason
    (other PermissionDenied messages are for logs and stay off the page)."""

    def __init__(self, reason: str, *, tenant: Tenant | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.tenant = tenant


def require_writer(request: HttpRequest) -> Membership:
    """As require_membership, and the role must allow changes (viewers get 403)."""
    membership = require_membership(request)
    if not membership.can_write:
        raise AccessRefused(read_only_reason(membership), tenant=membership.tenant)
    return membership


def read_only_reason(membership: Membership) -> str:
    """Why this membership may not change anything, and what the person can do about it."""
    if getattr(membership, "impersonated", False):
        return _("You are seeing tenant %(tenant)s as staff, which is read-only: nothing can be ordered or "
                 "changed. Stop seeing as this tenant to work on the staff pages.") % {"tenant": membership.tenant.name}
    return _("Your role in tenant %(tenant)s is read-only (viewer): you can look but not change or order. "
             "Ask a member of your team or a portal administrator.") % {"tenant": membership.tenant.name}


def switch_tenant(request: HttpRequest, tenant_id: int) -> Membership:
    """Make `tenant_id` the request's tenant; only a tenant the user belongs to (else 404)."""
    for membership in memberships_of(request.user):
        if membership.tenant_id == tenant_id:
            request.session[SESSION_TENANT_KEY] = tenant_id
            request._portal_membership = membership
            return membership
    raise Http404("no such tenant")


def get_service_for_tenant(request: HttpRequest, ies_service_id: str, *, include_gone: bool = False):
    """The request's tenant's service with this IES id, or 404 (another tenant's looks absent)."""
    from portal.services.selectors import service_for_tenant

    membership = require_membership(request)
    service = service_for_tenant(tenant=membership.tenant, ies_service_id=ies_service_id, include_gone=include_gone)
    if service is None and _refresh_mirror(membership.tenant):
        service = service_for_tenant(tenant=membership.tenant, ies_service_id=ies_service_id, include_gone=include_gone)
    if service is None:
        raise Http404("no such service")
    return membership, service


def get_connection_for_tenant(request: HttpRequest, cloud_vpn_name: str, *, include_gone: bool = True):
    """The request's tenant's service whose CloudVpnName this is (deleted ones too, for history), or 404."""
    from portal.services.selectors import service_for_tenant_by_connection

    membership = require_membership(request)
    service = service_for_tenant_by_connection(tenant=membership.tenant, cloud_vpn_name=cloud_vpn_name,
                                               include_gone=include_gone)
    if service is None and _refresh_mirror(membership.tenant):
        service = service_for_tenant_by_connection(tenant=membership.tenant, cloud_vpn_name=cloud_vpn_name,
                                                   include_gone=include_gone)
    if service is None:
        raise Http404("no such connection")
    return membership, service


def _refresh_mirror(tenant: Tenant) -> bool:
    """The mirror may simply not know a service yet (made elsewhere, first visit): ask IES once,
    at most every 30 s per tenant, with the tenant's own token. True when the mirror was refreshed."""
    from django.core.cache import cache

    from ies_client.errors import IESError
    from portal.services.services import service_mirror_sync
    from portal.tenants.ies import TenantNotConfigured

    if not cache.add(f"mirror-refresh:{tenant.pk}", 1, 30):
        return False
    try:
        service_mirror_sync(tenant=tenant, for_page=True)
    except (IESError, TenantNotConfigured):
        return False
    return True

"""THE tenant checks. Every lookup of tenant data starts here.

A portal user acts for one tenant at a time (the one chosen in the session, else their first).
Another tenant's object is a 404, never a 403, so that its existence is not revealed; a viewer's
attempt to change something is a 403.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from portal.tenants.models import Membership

SESSION_TENANT_KEY = "portal_tenant_id"


def memberships_of(user) -> list[Membership]:
    if not user.is_authenticated:
        return []
    return list(
        Membership.objects.filter(user=user, tenant__is_active=True)
        .select_related("tenant")
        .order_by("tenant__name")
    )


def current_membership(request: HttpRequest) -> Membership | None:
    """The membership the request acts under, cached on the request."""
    if hasattr(request, "_portal_membership"):
        return request._portal_membership
    memberships = memberships_of(request.user)
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


def require_writer(request: HttpRequest) -> Membership:
    """As require_membership, and the role must allow changes (viewers get 403)."""
    membership = require_membership(request)
    if not membership.can_write:
        raise PermissionDenied("read-only membership")
    return membership


def switch_tenant(request: HttpRequest, tenant_id: int) -> Membership:
    """Make `tenant_id` the request's tenant; only a tenant the user belongs to (else 404)."""
    for membership in memberships_of(request.user):
        if membership.tenant_id == tenant_id:
            request.session[SESSION_TENANT_KEY] = tenant_id
            request._portal_membership = membership
            return membership
    raise Http404("no such tenant")

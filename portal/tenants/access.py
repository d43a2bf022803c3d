"""THE tenant checks: every tenant-owned object a view touches is fetched here.

A portal user acts for one tenant at a time (the one chosen in the session, else their first).
Another tenant's object is a 404, never a 403, so that its existence is not revealed; a viewer's
attempt to change something is a 403 that says why.

These functions only read. A caller that knows a miss may just mean a stale copy (the service
mirror) refreshes it itself and asks again.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest
from django.shortcuts import resolve_url
from django.utils.translation import gettext as _

from portal.core.compiled import Compiled, bind, compile_query, concrete_attnames, fetch, instance
from portal.core.exceptions import AccessRefused
from portal.tenants.models import Membership, Role, Tenant

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

SESSION_TENANT_KEY = "portal_tenant_id"
# A staff user looking at a tenant's pages ("see as tenant"): always read-only.
SESSION_SEE_AS_KEY = "portal_see_as_tenant_id"

# A stand-in for the user's id in the compiled query (portal.core.compiled): no user has it.
_USER_SLOT = -914_201


@lru_cache(maxsize=4)
def _memberships_sql(vendor: str) -> Compiled:
    # Every page reads them: built and compiled once per process, with the tenant's columns
    # after the membership's, as select_related("tenant") reads them.
    tenant_columns = (f"tenant__{name}" for name in concrete_attnames(Tenant))
    return compile_query(Membership.objects.filter(user_id=_USER_SLOT, tenant__is_active=True)
                         .order_by("tenant__name").values(*concrete_attnames(Membership), *tenant_columns))


def memberships_of(user: User | AnonymousUser) -> list[Membership]:
    """The user's memberships of active tenants, by tenant name, each with its tenant."""
    if not user.is_authenticated:
        return []
    compiled = _memberships_sql(connection.vendor)
    split = len(concrete_attnames(Membership))
    memberships = []
    for row in fetch(compiled, bind(compiled, {_USER_SLOT: user.pk})):
        membership = instance(Membership, row[:split])
        Membership.tenant.field.set_cached_value(membership, instance(Tenant, row[split:]))
        memberships.append(membership)
    return memberships


def request_memberships(request: HttpRequest) -> list[Membership]:
    """The user's memberships, read once per request (the page and its header both need them)."""
    # Cached as attributes of the request object, which HttpRequest does not declare (hence the ignores).
    if not hasattr(request, "_portal_memberships"):
        request._portal_memberships = memberships_of(request.user)  # type: ignore[attr-defined]
    return request._portal_memberships  # type: ignore[attr-defined]


def current_membership(request: HttpRequest) -> Membership | None:
    """The membership the request acts under, cached on the request."""
    if hasattr(request, "_portal_membership"):
        return request._portal_membership
    see_as = request.session.get(SESSION_SEE_AS_KEY) if hasattr(request, "session") else None
    if see_as and request.user.is_authenticated and request.user.is_staff:
        tenant = Tenant.objects.filter(pk=see_as).first()
        if tenant is not None:
            # Never saved: a viewer membership that exists only for this request, marked as such
            # by an attribute the model does not declare.
            viewer = Membership(user=request.user, tenant=tenant, role=Role.VIEWER)
            viewer.impersonated = True  # type: ignore[attr-defined]
            request._portal_membership = viewer  # type: ignore[attr-defined]
            return viewer
    memberships = request_memberships(request)
    chosen = request.session.get(SESSION_TENANT_KEY) if hasattr(request, "session") else None
    membership = next((m for m in memberships if m.tenant_id == chosen), memberships[0] if memberships else None)
    request._portal_membership = membership  # type: ignore[attr-defined]
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
            request._portal_membership = membership  # type: ignore[attr-defined]
            return membership
    raise Http404("no such tenant")


def tenant_object_or_404[M: Model](request: HttpRequest, objects: type[M] | QuerySet[M],
                                    /, **lookup: Any) -> tuple[Membership, M]:
    """The request's membership and the first object of `objects` (a tenant-owned model, or a
    queryset of one: which rows count, in which order) that matches `lookup` and belongs to the
    request's tenant. Anything else is a 404, so another tenant's object looks exactly like a
    missing one."""
    membership = require_membership(request)
    return membership, _owned_by(membership, objects, lookup)


def tenant_object_for_writer_or_404[M: Model](request: HttpRequest, objects: type[M] | QuerySet[M],
                                               /, **lookup: Any) -> tuple[Membership, M]:
    """As tenant_object_or_404 for a change: a viewer is refused (403, with the reason) before
    anything is looked up, so the refusal says nothing about which objects exist."""
    membership = require_writer(request)
    return membership, _owned_by(membership, objects, lookup)


def tenant_read_or_404[M: Model](request: HttpRequest, read: Callable[[Tenant], M | None], /) -> tuple[Membership, M]:
    """As tenant_object_or_404, for a caller whose query is compiled once (portal.core.compiled):
    `read` is given the request's tenant and returns its object, or None (a 404). An object of
    another tenant is a 404 too, whatever `read` did."""
    membership = require_membership(request)
    found = read(membership.tenant)
    if found is None or getattr(found, "tenant_id", None) != membership.tenant_id:
        raise Http404("no such object")
    return membership, found


def _owned_by[M: Model](membership: Membership, objects: type[M] | QuerySet[M], lookup: dict[str, Any]) -> M:
    queryset = objects if isinstance(objects, QuerySet) else objects._default_manager.all()
    found = queryset.filter(tenant=membership.tenant, **lookup).first()
    if found is None:
        raise Http404(f"no such {queryset.model._meta.model_name}")
    return found


def landing_url(request: HttpRequest) -> str:
    """Where a user starts. Staff outside every tenant have nothing under "My services": theirs is
    the staff pages (seeing as a tenant gives them that tenant's pages for the time being)."""
    if request.user.is_staff and current_membership(request) is None:
        return resolve_url("staff:tenant_list")
    return resolve_url(settings.LOGIN_REDIRECT_URL)

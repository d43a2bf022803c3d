from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from portal.core.access import current_membership, request_memberships


def portal(request: HttpRequest) -> dict:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    membership = current_membership(request)
    from portal.operations.selectors import Badge, operations_badge

    return {
        # Lazy: a view that shows an operation passes its own badge, counted from that very row.
        "ops_badge": SimpleLazyObject(lambda: operations_badge(tenant=membership.tenant)) if membership else Badge(),
        "current_membership": membership,
        "current_tenant": membership.tenant if membership else None,
        "all_memberships": request_memberships(request),
    }

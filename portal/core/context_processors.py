from django.http import HttpRequest

from portal.core.access import current_membership, request_memberships


def portal(request: HttpRequest) -> dict:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    membership = current_membership(request)
    from portal.operations.selectors import operations_in_flight_count, operations_unseen_count

    return {
        "ops_in_flight": operations_in_flight_count(tenant=membership.tenant) if membership else 0,
        "ops_unseen": operations_unseen_count(tenant=membership.tenant) if membership else 0,
        "current_membership": membership,
        "current_tenant": membership.tenant if membership else None,
        "all_memberships": request_memberships(request),
    }

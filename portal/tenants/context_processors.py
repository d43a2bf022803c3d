from django.http import HttpRequest

from portal.tenants.access import current_membership, request_memberships


def tenancy(request: HttpRequest) -> dict:
    """Which tenant the page acts for, and the others the user may switch to (the header's menu)."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    membership = current_membership(request)
    return {
        "current_membership": membership,
        "current_tenant": membership.tenant if membership else None,
        # Staff seeing as a tenant stay on it until they stop: no menu of their own tenants (and
        # no query for it).
        "all_memberships": [] if getattr(membership, "impersonated", False) else request_memberships(request),
    }

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from portal.operations.selectors import Badge, operations_badge
from portal.tenants.access import current_membership


def ops_badge(request: HttpRequest) -> dict:
    """The header's count of the tenant's operations in flight, and of those finished that this person
    has not seen."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    membership = current_membership(request)
    # Lazy: a view that shows an operation passes its own badge, counted from that very row.
    return {"ops_badge": SimpleLazyObject(lambda: operations_badge(tenant=membership.tenant, reader=membership)) if membership else Badge()}

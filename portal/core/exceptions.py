"""Exceptions every app may raise and the core error pages know how to show."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied

if TYPE_CHECKING:
    from portal.tenants.models import Tenant


class AccessRefused(PermissionDenied):
    """A 403 whose message is meant for the person refused: the 403 page shows it as the reason
    (other PermissionDenied messages are for logs and stay off the page)."""

    def __init__(self, reason: str, *, tenant: Tenant | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        # Whose data was refused: the wizard keeps a draft of that tenant's order.
        self.tenant = tenant

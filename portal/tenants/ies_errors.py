"""What an IES failure means for a tenant, and what they can do next, in their language."""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from ies_client.errors import (
    IESAuthError,
    IESCircuitOpen,
    IESConflict,
    IESError,
    IESNotFound,
    IESProtocolError,
    IESUnavailable,
    IESValidationError,
)
from portal.tenants.ies import TenantNotConfigured


@dataclass(frozen=True)
class Trouble:
    problem: str
    advice: str


def describe(exc: Exception) -> Trouble:
    if isinstance(exc, TenantNotConfigured):
        return Trouble(_("This tenant has no IES token yet."),
                       _("Ask a portal administrator to enter the tenant's IES token."))
    if isinstance(exc, IESAuthError):
        return Trouble(_("IES refused the tenant's token (it may have expired)."),
                       _("Ask a portal administrator to enter a new IES token for this tenant."))
    if isinstance(exc, IESCircuitOpen):
        # Pages that have a last known state say so themselves: not every page has one.
        return Trouble(_("IES is not answering, so the portal has stopped asking it for a short while."),
                       _("Try again in a minute."))
    if isinstance(exc, IESUnavailable):
        return Trouble(_("IES is not answering right now."), _("Try again in a minute."))
    if isinstance(exc, IESNotFound):
        return Trouble(_("IES does not know this item (any more)."), _("Go back to the list and refresh it."))
    if isinstance(exc, IESConflict):
        return Trouble(_("IES is still busy with another change of this service."),
                       _("Wait until it has finished, then try again."))
    if isinstance(exc, IESValidationError):
        return Trouble(_("IES rejected the values."), _("Correct the fields marked below and try again."))
    if isinstance(exc, IESProtocolError):
        return Trouble(_("IES sent an answer the portal cannot read."),
                       _("Try again in a minute; if it persists, tell a portal administrator."))
    if isinstance(exc, IESError):
        return Trouble(_("IES answered with an error."), _("Try again in a minute."))
    raise exc

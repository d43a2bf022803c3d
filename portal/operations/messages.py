"""What the portal itself says about an operation, stored on the row in English and translated
when shown (`{% translate op.message %}`): a worker has no reader's language, the page has.

IES's own reasons are stored as IES wrote them and shown as they are.
"""

from django.utils.translation import gettext_noop as _

NO_TOKEN = _("The tenant has no IES token: an administrator must enter one.")
TOKEN_REFUSED = _("IES refused the tenant's token. An administrator must enter a new one; then check again.")
TOKEN_REFUSED_WHILE_WATCHING = _("IES refused the tenant's token, so the portal stopped watching this operation. "
                                 "An administrator must enter a new token; then check again.")
SERVICE_UNKNOWN = _("IES does not know this service (any more).")
ALREADY_GONE = _("IES no longer had the service: it is deleted.")
DELETED_AT_ONCE = _("IES deleted the service at once.")
DELETED = _("IES deleted the service.")
REJECTED = _("IES rejected the order: correct the fields it named and place it again.")
BUSY = _("IES refused: another change of this service is in progress. Try again when it has finished.")
STUCK = _("IES has not finished this operation in far longer than usual. The portal stopped watching it; "
          "check again to ask IES once more.")
NO_ANSWER = _("IES did not answer the last check; the portal keeps trying.")
ERROR_ANSWER = _("IES answered the last check with an error; the portal keeps trying.")
CHECK_FAILED = _("The portal could not record the last check; it keeps trying.")
SEND_FAILED = _("IES could not be reached to send the request; the portal tries again shortly.")
NO_REASON = _("IES did not say why.")
BANDWIDTH_MISMATCH = _("IES reported success, but the service does not have the bandwidth that was asked for.")

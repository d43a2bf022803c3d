"""IES's status words in the reader's language, in one place.

IES reports a service's ``status`` and ``active_status`` (and an operation's kind and result) as
fixed English words. The pages show a translation; the raw word stays next to it (a ``title``
attribute, the CSV) so support can match what a tenant sees with what IES logs. A word this table
does not know is shown as IES wrote it.
"""

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy, pgettext_lazy

from ies_client import models as ies
from portal.services.models import ServiceKind

# Every word of ies_client's vocabulary (a service's status and active status share one table:
# a page shows either through status_label). Keyed by the StrEnum members, which a plain string
# from the mirror finds as well.
SERVICE_STATUS: dict[str, Promise] = {
    ies.ServiceStatus.COMPLETED: pgettext_lazy("IES status", "Completed"),
    ies.ServiceStatus.CREATE_IN_PROGRESS: pgettext_lazy("IES status", "Being created"),
    ies.ServiceStatus.UPDATE_IN_PROGRESS: pgettext_lazy("IES status", "Being changed"),
    ies.ServiceStatus.DELETE_IN_PROGRESS: pgettext_lazy("IES status", "Being deleted"),
    ies.ServiceStatus.ACTIVATE_IN_PROGRESS: pgettext_lazy("IES status", "Being activated"),
    ies.ServiceStatus.DEACTIVATE_IN_PROGRESS: pgettext_lazy("IES status", "Being deactivated"),
    ies.ServiceStatus.ACTIVATE: pgettext_lazy("IES status", "Activated"),
    ies.ServiceStatus.DEACTIVATE: pgettext_lazy("IES status", "Deactivated"),
    ies.ServiceStatus.FAILED: pgettext_lazy("IES status", "Failed"),
    ies.ServiceStatus.CREATE_FAILED: pgettext_lazy("IES status", "Creation failed"),
    ies.ServiceStatus.DELETED: pgettext_lazy("IES status", "Deleted"),
    ies.ServiceStatus.DELETING: pgettext_lazy("IES status", "Being deleted"),
    ies.ServiceStatus.CREATING: pgettext_lazy("IES status", "Being created"),
    ies.ServiceStatus.UPDATING: pgettext_lazy("IES status", "Being changed"),
    ies.ActiveStatus.ACTIVE: pgettext_lazy("IES status", "Active"),
    ies.ActiveStatus.DEACTIVE: pgettext_lazy("IES status", "Inactive"),
    ies.ActiveStatus.INACTIVE: pgettext_lazy("IES status", "Inactive"),
}

# The portal's word for an operation of IES's log that is not done yet (IES sends no result then).
RUNNING = "running"

# An operation in IES's own log: its kind and its result.
OPERATION_WORDS: dict[str, Promise] = {
    ies.OperationKind.CREATE: pgettext_lazy("IES operation", "Create"),
    ies.OperationKind.UPDATE: pgettext_lazy("IES operation", "Update"),
    ies.OperationKind.DELETE: pgettext_lazy("IES operation", "Delete"),
    ies.OperationKind.ACTIVATE: pgettext_lazy("IES operation", "Activate"),
    ies.OperationKind.DEACTIVATE: pgettext_lazy("IES operation", "Deactivate"),
    ies.OperationResult.SUCCESS: pgettext_lazy("IES operation", "Succeeded"),
    ies.OperationResult.FAILED: pgettext_lazy("IES operation", "Failed"),
    RUNNING: pgettext_lazy("IES operation", "Running"),
}


# A catalog definition's status (only an active one can be ordered).
DEFINITION_STATUS: dict[str, Promise] = {
    ies.DefinitionStatus.ACTIVE: gettext_lazy("active"),
    ies.DefinitionStatus.INACTIVE: gettext_lazy("inactive"),
}


def definition_status_label(word: str | None) -> str:
    """A definition's status in the reader's language; unknown words as IES wrote them."""
    label = DEFINITION_STATUS.get(word or "")
    return str(label) if label is not None else (word or "")


def kind_label(kind: str | None) -> str:
    """A service kind as people name it ("Site-to-DC"); "Other" for a kind the portal does not handle."""
    if kind in ServiceKind.values:
        return str(ServiceKind(kind).label)
    return str(gettext_lazy("Other"))


def status_label(word: str | None) -> str:
    """A service status or active status in the reader's language; unknown words as IES wrote them."""
    if not word:
        return ""
    label = SERVICE_STATUS.get(word)
    return str(label) if label is not None else word


def operation_word_label(word: str | None) -> str:
    if not word:
        return ""
    label = OPERATION_WORDS.get(word)
    return str(label) if label is not None else word

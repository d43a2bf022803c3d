"""IES's status words in the reader's language, in one place.

IES reports a service's ``status`` and ``active_status`` (and an operation's kind and result) as
fixed English words. The pages show a translation; the raw word stays next to it (a ``title``
attribute, the CSV) so support can match what a tenant sees with what IES logs. A word this table
does not know is shown as IES wrote it.
"""

from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

# Every word the simulator and ies_client produce (ies_client/simulator/openapi.py STATUSES,
# ACTIVE_STATUSES), and the spellings other IES versions are known to use.
SERVICE_STATUS: dict[str, Promise] = {
    "Completed": pgettext_lazy("IES status", "Completed"),
    "CreateInProgress": pgettext_lazy("IES status", "Being created"),
    "UpdateInProgress": pgettext_lazy("IES status", "Being changed"),
    "DeleteInProgress": pgettext_lazy("IES status", "Being deleted"),
    "ActivateInProgress": pgettext_lazy("IES status", "Being activated"),
    "DeactivateInProgress": pgettext_lazy("IES status", "Being deactivated"),
    "Activate": pgettext_lazy("IES status", "Activated"),
    "Deactivate": pgettext_lazy("IES status", "Deactivated"),
    "Failed": pgettext_lazy("IES status", "Failed"),
    "CreateFailed": pgettext_lazy("IES status", "Creation failed"),
    "Deleted": pgettext_lazy("IES status", "Deleted"),
    "Deleting": pgettext_lazy("IES status", "Being deleted"),
    "Creating": pgettext_lazy("IES status", "Being created"),
    "Updating": pgettext_lazy("IES status", "Being changed"),
    "Active": pgettext_lazy("IES status", "Active"),
    "Deactive": pgettext_lazy("IES status", "Inactive"),
    "Inactive": pgettext_lazy("IES status", "Inactive"),
}

# An operation in IES's own log: its kind and its result ("running" is the portal's word for "not done").
OPERATION_WORDS: dict[str, Promise] = {
    "Create": pgettext_lazy("IES operation", "Create"),
    "Update": pgettext_lazy("IES operation", "Update"),
    "Delete": pgettext_lazy("IES operation", "Delete"),
    "Activate": pgettext_lazy("IES operation", "Activate"),
    "Deactivate": pgettext_lazy("IES operation", "Deactivate"),
    "success": pgettext_lazy("IES operation", "Succeeded"),
    "failed": pgettext_lazy("IES operation", "Failed"),
    "running": pgettext_lazy("IES operation", "Running"),
}


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

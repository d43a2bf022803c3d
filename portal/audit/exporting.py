"""CSV export of the audit trail, and the cell protection every spreadsheet export of the portal uses."""

import csv
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet
from django.utils import timezone

from portal.audit.models import AuditEvent

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets
# ("=HYPERLINK(...)", "@SUM(...)", "+cmd|..."); tab and carriage return smuggle one past a trim.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
EXPORT_LIMIT = 100_000

# "action" is the stable code scripts filter on; "action label" and "change" are what the pages show,
# in the language of the person exporting; "before"/"after" stay the raw recorded values (JSON).
AUDIT_COLUMNS = ("when", "who", "tenant", "action", "action label", "object type", "object id", "object", "outcome",
                 "message", "change", "client address", "before", "after")


def spreadsheet_safe(value: object) -> str:
    """The text of `value`, with a leading apostrophe if a spreadsheet would run it as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


class _Echo:
    """A file-like object whose write() returns the line (csv.writer into a streaming response)."""

    def write(self, value: str) -> str:
        return value


def audit_csv_lines(events: QuerySet[AuditEvent], *, language: str | None = None) -> Iterator[str]:
    """The rows of `events` as CSV lines, header first, every cell neutralised, at most EXPORT_LIMIT rows.

    `language`: of the labels; given explicitly because the lines are produced while the response
    streams, after the request's own language is no longer active."""
    import json

    from django.utils import translation

    from portal.audit.presenters import action_label, event_changes

    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(AUDIT_COLUMNS)  # the BOM: Excel then reads UTF-8 (Chinese names)
    for event in events[:EXPORT_LIMIT].iterator(chunk_size=2000):
        with translation.override(language or translation.get_language()):
            label, change = action_label(event.action), "; ".join(event_changes(event))
        cells: Iterable[object] = (
            timezone.localtime(event.at).isoformat(timespec="seconds"),
            event.actor_name,
            event.tenant_name,
            event.action,
            label,
            event.object_type,
            event.object_id,
            event.object_label,
            event.outcome,
            event.message,
            change,
            event.client_address or "",
            json.dumps(event.before, ensure_ascii=False, sort_keys=True) if event.before is not None else "",
            json.dumps(event.after, ensure_ascii=False, sort_keys=True) if event.after is not None else "",
        )
        yield writer.writerow([spreadsheet_safe(cell) for cell in cells])

"""The service list's rows as HTML, built in Python.

A list page shows 50 rows; in the template language each took about 20 variable lookups, filters
and URL reversals, which made the table most of the page's time (issue 14, benchmarks/pages.py
--profile). Here a row is one string of escaped values: the same markup, escaped the same way, with the
URLs reversed once per page, the labels looked up once per page and the status tags built once
per word and language.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from urllib.parse import quote

from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from portal.core.units import format_kbps
from portal.operations.models import Operation, OperationKind
from portal.services.models import Service, ServiceKind
from portal.services.templatetags.ies_status import ies_status_tag

# Digits: a value both <int:…> and <str:…> converters take.
_MARKER = "9081726354"
# What reverse() leaves unquoted in a path segment (django.urls.resolvers, RFC 3986), "/" aside:
# a <str:…> segment holds none.
_SAFE = "!$&'()*+,;=~:@"


def _url_maker(name: str, kwarg: str) -> Callable[[object], str]:
    """reverse(name, kwargs={kwarg: value}) for many values: reversed once, the value put in."""
    pattern = reverse(name, kwargs={kwarg: _MARKER})
    head, tail = pattern.split(_MARKER, 1)
    return lambda value: f"{head}{quote(str(value), safe=_SAFE)}{tail}"


def service_rows(services: Iterable[Service], running: Mapping[int, Operation]) -> list[SafeString]:
    """The rows of the list's table, each with its running operation (if any) linked."""
    page = _Page()
    return [service_row(service, running.get(service.pk), page=page) for service in services]


class _Page:
    """What every row of one page shares: URLs reversed once, labels in the reader's language."""

    def __init__(self) -> None:
        self.detail = _url_maker("services:detail", "service_id")
        self.row = _url_maker("services:row", "service_id")
        self.operation = _url_maker("operations:detail", "pk")
        # get_kind_display() builds the field's choices anew on every call.
        self.kinds = {value: str(label) for value, label in ServiceKind.choices}
        self.operation_kinds = {value: str(label) for value, label in OperationKind.choices}
        self.deleted = format_html('<span class="status status-deleted">{}</span>', _("Deleted"))


def service_row(service: Service, running: Operation | None, *, page: _Page | None = None) -> SafeString:
    """One row of the list (also polled alone while its operation runs: views.service_row)."""
    page = page or _Page()
    ident = escape(service.ies_service_id)
    polling = (f' hx-get="{escape(page.row(service.ies_service_id))}" hx-trigger="every 3s" hx-swap="outerHTML"'
               if running else "")
    if service.gone_at:
        status = page.deleted
    else:
        status = ies_status_tag(service.status, "status")
        if service.active_status:
            status = f'{status} <span class="muted">· {ies_status_tag(service.active_status)}</span>'
        if running:
            status = (f'{status}\n        <br><a class="badge badge-live" href="{escape(page.operation(running.pk))}">'
                      f"{escape(page.operation_kinds.get(running.kind, running.kind))}…</a>")
    changed = timezone.localtime(service.last_changed_at).strftime("%Y-%m-%d %H:%M") if service.last_changed_at else "—"
    # Every value below is escaped here or is markup built above from escaped values.
    return mark_safe(  # noqa: S308
        f'\n    <tr id="row-{ident}"{polling}>\n'
        f'      <td><a href="{escape(page.detail(service.ies_service_id))}">{escape(service.name)}</a></td>\n'
        f"      <td>{escape(page.kinds.get(service.kind, service.kind) or '—')}</td>\n"
        f"      <td><code>{escape(service.cloud_vpn_name or '—')}</code></td>\n"
        f'      <td class="num">{escape(format_kbps(service.bandwidth_kbps))}</td>\n'
        f"      <td>{status}</td>\n"
        f"      <td>{changed}</td>\n"
        "    </tr>")

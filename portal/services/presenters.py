"""The service list's rows as HTML, built in Python.

A list page shows 50 rows; in the template language each took about 20 variable lookups, filters
and URL reversals, which made the table most of the page's time (issue 14, benchmarks/pages.py
--profile). Here a row is one string of escaped values: the same markup, escaped the same way, with the
URLs reversed once per page, the labels looked up once per page and the status tags built once
per word and language.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from functools import lru_cache
from urllib.parse import quote

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.dateformat import DateFormat
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


@lru_cache(maxsize=64)
def _url_parts(name: str, kwarg: str, prefix: str, urlconf: str | None) -> tuple[str, str]:
    # Per process: a URL depends on the URLconf and the script prefix (both in the key) only.
    pattern = reverse(name, kwargs={kwarg: _MARKER}, urlconf=urlconf)
    head, tail = pattern.split(_MARKER, 1)
    return head, tail


def _url_maker(name: str, kwarg: str) -> Callable[[object], str]:
    """reverse(name, kwargs={kwarg: value}) for many values: reversed once, the value put in."""
    head, tail = _url_parts(name, kwarg, get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)

    def make(value: object) -> str:
        text = str(value)
        if not text or "/" in text:  # not a path segment: reverse() refuses it, as it should
            return reverse(name, kwargs={kwarg: value})
        return f"{head}{quote(text, safe=_SAFE)}{tail}"
    return make


def service_links(service: Service) -> dict[str, str]:
    """A service page's own links (its fragments' too), without a reverse() each."""
    return {name: _url_maker(f"services:{name}", "service_id")(service.ies_service_id)
            for name in ("detail", "bandwidth", "delete", "policies")}


def moment(value: datetime | None) -> str:
    """{{ value|localtime|date:"Y-m-d H:i:s T" }} for the rows of a page (history, audit): the date
    filter reads its format anew on every call, several times the cost of this."""
    if value is None:
        return ""
    # As the localtime filter: an aware time in the reader's zone, a naive one as it is.
    local = timezone.localtime(value) if settings.USE_TZ and timezone.is_aware(value) else value
    return f"{local:%Y-%m-%d %H:%M:%S} {DateFormat(local).T()}"


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
        # A page's rows share a few bandwidths and status words: each formatted once per page.
        self.zone = timezone.get_current_timezone()
        self._bandwidths: dict[int | None, str] = {}
        self._tags: dict[tuple[str, str], str] = {}

    def bandwidth(self, kbps: int | None) -> str:
        if kbps not in self._bandwidths:
            self._bandwidths[kbps] = escape(format_kbps(kbps))
        return self._bandwidths[kbps]

    def tag(self, word: str, css: str = "") -> str:
        key = (word, css)
        if key not in self._tags:
            self._tags[key] = ies_status_tag(word, css)
        return self._tags[key]


def service_row(service: Service, running: Operation | None, *, page: _Page | None = None) -> SafeString:
    """One row of the list (also polled alone while its operation runs: views.service_row)."""
    page = page or _Page()
    ident = escape(service.ies_service_id)
    polling = (f' hx-get="{escape(page.row(service.ies_service_id))}" hx-trigger="every 3s" hx-swap="outerHTML"'
               if running else "")
    status: str
    if service.gone_at:
        status = page.deleted
    else:
        status = page.tag(service.status, "status")
        if service.active_status:
            status = f'{status} <span class="muted">· {page.tag(service.active_status)}</span>'
        if running:
            status = (f'{status}\n        <br><a class="badge badge-live" href="{escape(page.operation(running.pk))}">'
                      f"{escape(page.operation_kinds.get(running.kind, running.kind))}…</a>")
    changed = (timezone.localtime(service.last_changed_at, page.zone).strftime("%Y-%m-%d %H:%M")
               if service.last_changed_at else "—")
    # Every value below is escaped here or is markup built above from escaped values.
    return mark_safe(  # noqa: S308
        f'\n    <tr id="row-{ident}"{polling}>\n'
        f'      <td><a href="{escape(page.detail(service.ies_service_id))}">{escape(service.name)}</a></td>\n'
        f"      <td>{escape(page.kinds.get(service.kind, service.kind) or '—')}</td>\n"
        f"      <td><code>{escape(service.cloud_vpn_name or '—')}</code></td>\n"
        f'      <td class="num">{page.bandwidth(service.bandwidth_kbps)}</td>\n'
        f"      <td>{status}</td>\n"
        f"      <td>{changed}</td>\n"
        "    </tr>")

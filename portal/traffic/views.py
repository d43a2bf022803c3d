"""Traffic pages: thin views over portal.traffic.selectors (one view per URL).

The chart page carries its first chart inline (``json_script``) when the cache holds it but for the
newest buckets, so the browser draws it without another round trip; otherwise it is a shell whose
data comes from ``data.json`` (which later refreshes and zooms use too). The browser tells the width
it draws at (a cookie for the page, a parameter for ``data.json``) so the server can downsample to
it. Every connection is looked up through
``portal.services.queries.service_or_404`` (the access chokepoint, with the mirror's catch-up on a
miss): another tenant's connection is a 404.
"""

from __future__ import annotations

import logging
import math
import time
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from ies_client.errors import IESCircuitOpen, IESError
from portal.services.queries import service_or_404
from portal.services.selectors import (
    gone_services_for_tenant,
    service_list_for_tenant,
    service_lookup_by_connection,
)
from portal.tenants.access import current_membership
from portal.tenants.ies import TenantNotConfigured
from portal.tenants.ies_errors import describe
from portal.traffic import export, ranges, selectors, series

if TYPE_CHECKING:
    from portal.services.models import Service
    from portal.tenants.models import Membership

log = logging.getLogger(__name__)

# traffic.js keeps the width it last drew at in this cookie: the page's inlined chart is thinned for
# it. Without it, a chart's width on a 1280-pixel screen; the script asks again if it draws wider.
WIDTH_COOKIE = "traffic_width"
INLINE_WIDTH = 900


def _now() -> int:
    return int(time.time())


def _anchor(service: Service) -> int | None:
    """A deleted service's history ends at its deletion: presets count back from there."""
    if service.gone_at is None:
        return None
    return -(-int(service.gone_at.timestamp()) // 60) * 60


def _params(request: HttpRequest) -> dict[str, str]:
    return {k: request.GET.get(k, "") for k in ("range", "start", "end", "timedim", "indicator")}


def scale_url(service: Service, kbps: int, trange: ranges.TimeRange | None = None) -> str:
    # The bandwidth editor is another app's (named, not imported). The exact window goes along,
    # so that the editor shows the figures the suggestion was made from.
    query = dict(trange.query(exact=True)) if trange else {}
    query["suggested_kbps"] = str(int(kbps))
    return f"{reverse('services:bandwidth', args=[service.ies_service_id])}?{urlencode(query)}"


def _connection_or_404(request: HttpRequest, cloud_vpn_name: str) -> tuple[Membership, Service]:
    """The tenant's service with this CloudVpnName; a deleted one too (its history stays readable)."""
    return service_or_404(request, service_lookup_by_connection(include_gone=True), cloud_vpn_name=cloud_vpn_name)


@require_GET
def connection(request: HttpRequest, cloud_vpn_name: str) -> HttpResponse:
    membership, service = _connection_or_404(request, cloud_vpn_name)
    now = _now()
    params = _params(request)
    error = None
    try:
        trange = ranges.parse(params, now=now, anchor=_anchor(service))
    except ranges.RangeError as exc:
        error = exc
        trange = ranges.parse({"indicator": "max"}, now=now, anchor=_anchor(service))
    data_url = reverse("traffic:data", args=[service.cloud_vpn_name])
    csv_url = reverse("traffic:csv", args=[service.cloud_vpn_name])
    query = urlencode(trange.query())
    config = {
        "dataUrl": data_url,
        "csvUrl": csv_url,
        "query": trange.query(),
        "connection": service.cloud_vpn_name,
        "live": trange.live,
        "refreshSeconds": 60,
        "texts": _js_texts(),
    }
    context = {
        "service": service,
        "membership": membership,
        "trange": trange,
        "range_error": error,
        "params": params,
        "preset_links": _preset_links(trange, error is None),
        "timedims": [("auto", _("automatic"))] + [(k, v) for k, v in ranges.TIMEDIM_LABELS.items()],
        "indicators": list(ranges.INDICATOR_LABELS.items()),
        **_inline_chart(request, membership, service, trange, now, enabled=error is None),
        "start_input": ranges.input_local(trange.start),
        "end_input": "" if trange.live else ranges.input_local(trange.end),
        "zone_label": ranges.zone_label(trange.end),
        "csv_href": f"{csv_url}?{query}",
        "config": config,
    }
    return render(request, "traffic/connection.html", context, status=400 if error else 200)


def _inline_chart(request: HttpRequest, membership: Membership, service: Service, trange: ranges.TimeRange,
                  now: int, *, enabled: bool) -> dict:
    """The page's first chart (``initial``, and ``chart`` for the figures beside it), when the cache
    holds it but for the newest buckets: then it costs no more than the refresh a live chart makes
    every minute. Otherwise nothing: the page is drawn at once with "Loading…" and the script asks
    data.json, so a slow or cold IES never holds up the page itself."""
    if not enabled:
        return {}
    width = selectors.clamp_width(request.COOKIES.get(WIDTH_COOKIE) or INLINE_WIDTH)
    try:
        chart = selectors.chart_for_connection(tenant=membership.tenant, service=service, trange=trange,
                                               width=width, now=now, cached_only=True)
    except series.NotCached:
        return {}
    except (IESError, TenantNotConfigured) as exc:
        log.warning("traffic of %r failed: %s", service.cloud_vpn_name, type(exc).__name__)
        return {"initial": _trouble_body(exc, service)}
    return {"initial": _chart_body(request, membership, service, trange, chart, stats=False), "chart": chart,
            "scale_url": scale_url(service, chart.suggestion.kbps, trange) if chart.suggestion else ""}


def _chart_body(request: HttpRequest, membership: Membership, service: Service, trange: ranges.TimeRange,
                chart: selectors.Chart, *, stats: bool) -> dict:
    """What the script draws: the chart's payload, its links, and (``stats``) the figures' HTML."""
    body = export.payload(chart)
    if chart.stale is not None:
        body["stale"] = {"until": chart.stale.until, "problem": chart.stale.problem, "advice": chart.stale.advice,
                         "label": chart.stale.label, "read_at": chart.stale.read_at,
                         "older_than_usual": chart.stale.older_than_usual, "meta": chart.stale.meta}
    query = dict(trange.query(exact=True), width=str(chart.width))
    if chart.known_until < trange.end:
        # IES adds the newest minutes as they close: the file holds what the chart showed.
        query["until"] = str(chart.known_until)
    body["csv_url"] = reverse("traffic:csv", args=[service.cloud_vpn_name]) + "?" + urlencode(query)
    body["png_name"] = export.filename(chart, "png")
    if stats:
        body["stats_html"] = render_to_string("traffic/connection.html#stats", {
            "chart": chart, "service": service, "membership": membership,
            "scale_url": scale_url(service, chart.suggestion.kbps, trange) if chart.suggestion else "",
        }, request=request)
    return body


@require_GET
def data(request: HttpRequest, cloud_vpn_name: str) -> JsonResponse:
    membership, service = _connection_or_404(request, cloud_vpn_name)
    now = _now()
    try:
        trange = ranges.parse(_params(request), now=now, anchor=_anchor(service))
    except ranges.RangeError as exc:
        return JsonResponse({"error": {"field": exc.field, "problem": exc.message, "advice": ""}}, status=400)
    width = selectors.clamp_width(request.GET.get("width"))
    try:
        chart = selectors.chart_for_connection(tenant=membership.tenant, service=service, trange=trange,
                                               width=width, now=now)
    except (IESError, TenantNotConfigured) as exc:
        log.warning("traffic of %r failed: %s", cloud_vpn_name, type(exc).__name__)
        return _ies_trouble(exc, service)
    response = JsonResponse(_chart_body(request, membership, service, trange, chart, stats=True))
    response["Cache-Control"] = "private, no-cache"
    return response


def _ies_trouble(exc: IESError | TenantNotConfigured, service: Service) -> JsonResponse:
    """IES could not give the traffic and the cache has none of it: say what failed, at once.

    A breaker that is open (IES failed again and again) is a 503 with Retry-After: the portal is
    fine, IES is not, and the browser may ask again when the breaker lets a trial through.
    """
    response = JsonResponse(_trouble_body(exc, service), status=503 if isinstance(exc, IESCircuitOpen) else 502)
    if isinstance(exc, IESCircuitOpen):
        response["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    response["Cache-Control"] = "private, no-cache"
    return response


def _trouble_body(exc: IESError | TenantNotConfigured, service: Service) -> dict:
    trouble = describe(exc)
    return {"error": {"problem": trouble.problem, "advice": trouble.advice,
                      "what": _("The traffic of %(name)s could not be read from IES.") % {"name": service.cloud_vpn_name}}}


def _csv_trouble(exc: IESError | TenantNotConfigured) -> HttpResponse:
    trouble = describe(exc)
    return HttpResponse(f"{trouble.problem} {trouble.advice}", status=503 if isinstance(exc, IESCircuitOpen) else 502,
                        content_type="text/plain; charset=utf-8")


def _until(raw: str | None, trange: ranges.TimeRange) -> int | None:
    """The export's ``until`` (see Chart.known_until), None when absent; ValueError when it is not
    a Unix time within the range."""
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12 or not trange.start <= int(raw) <= trange.end:
        raise ValueError(raw)
    return int(raw)


@require_GET
def csv_export(request: HttpRequest, cloud_vpn_name: str) -> HttpResponse:
    membership, service = _connection_or_404(request, cloud_vpn_name)
    now = _now()
    try:
        trange = ranges.parse(_params(request), now=now, anchor=_anchor(service))
    except ranges.RangeError as exc:
        return HttpResponse(exc.message, status=400, content_type="text/plain; charset=utf-8")
    try:
        until = _until(request.GET.get("until"), trange)
    except ValueError:
        return HttpResponse(_("The end of the data to export is not a time within the range."), status=400,
                            content_type="text/plain; charset=utf-8")
    width = selectors.clamp_width(request.GET.get("width"))
    try:
        chart = selectors.chart_for_connection(tenant=membership.tenant, service=service, trange=trange,
                                               width=width, now=now, until=until)
    except (IESError, TenantNotConfigured) as exc:
        return _csv_trouble(exc)
    if chart.stale is not None:
        # A file is taken for complete: what the cache alone holds is shown on the chart, not exported.
        return _csv_trouble(chart.stale.error)
    response = HttpResponse(export.csv_text(chart), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, export.filename(chart, "csv"))
    return response


@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    membership = current_membership(request)
    if membership is None:
        return render(request, "services/no_tenant.html")
    preset = request.GET.get("range") or "24h"
    if preset not in ranges.PRESETS:
        preset = "24h"
    indicator = request.GET.get("indicator") or "max"
    if indicator not in ranges.INDICATORS:
        indicator = "max"
    services = list(service_list_for_tenant(tenant=membership.tenant))
    result = selectors.overview_for_tenant(tenant=membership.tenant, services=services, preset=preset,
                                           indicator=indicator, now=_now())
    return render(request, "traffic/overview.html", {
        "overview": result,
        "gone": gone_services_for_tenant(tenant=membership.tenant),
        "presets": [(key, ranges.PRESET_LABELS[key]) for key in ranges.PRESETS],
        "indicator": indicator,
        "zone_label": ranges.zone_label(),
        "config": {"texts": _js_texts(), "tz": ranges.zone().key, "interval": ranges.INTERVALS[result.timedim],
                   "abbreviations": ranges.zone_abbreviations(_now()),
                   "cards": [card.data for card in result.cards]},
    })


def _preset_links(trange: ranges.TimeRange, valid: bool) -> list[tuple[str, str, str, bool]]:
    links = []
    for key, label in ranges.PRESET_LABELS.items():
        query = {"range": key, "indicator": trange.indicator}
        if not trange.timedim_auto:
            query["timedim"] = trange.timedim
        links.append((key, str(label), "?" + urlencode(query), valid and trange.preset == key))
    return links


def _js_texts() -> dict[str, str | dict[str, str]]:
    """Every sentence traffic.js shows, translated here (the script itself has no text)."""
    return {
        "loading": _("Loading traffic…"),
        "refreshing": _("Refreshing…"),
        "empty": _("No traffic yet in this range. A new connection reports its first values a minute or "
                   "two after it is up."),
        "retry": _("Try again"),
        "networkError": _("The portal did not answer. Check your connection and try again."),
        "inbound": _("Inbound"),
        "outbound": _("Outbound"),
        "bandwidth": _("Bandwidth in force"),
        "utilIn": _("Inbound utilisation"),
        "utilOut": _("Outbound utilisation"),
        "busy": _("%(threshold)s line") % {"threshold": "80 %"},
        # The first column of the charts' legend: the moment under the cursor.
        "time": _("Time"),
        "rateAxis": _("Rate"),
        "utilAxis": _("Utilisation (%)"),
        "summarises": _("each point: the max and min of %(duration)s"),
        "zoomHint": _("Drag across the chart to zoom in."),
        "updated": _("Updated %(time)s"),
        "pngTitle": _("Traffic of %(name)s"),
        "peak": _("peak"),
        # The chart's heading after a zoom changed the timedim: "Maximum per minute".
        "titles": {f"{i}:{d}": f"{str(il).capitalize()} {dl}" for i, il in ranges.INDICATOR_LABELS.items()
                   for d, dl in ranges.TIMEDIM_LABELS.items()},
    }

"""/services/{id}/traffic: the chart's data (same cache, ranges and downsampling), JSON or CSV."""

import time

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router

from portal.api.auth import caller
from portal.api.endpoints.services import service_of_tenant
from portal.api.models import Scope
from portal.api.problems import invalid
from portal.api.schemas import Input, Problem, ServiceId, TrafficOut
from portal.traffic import export, ranges, selectors

router = Router(tags=["traffic"])

ERRORS = {401: Problem, 403: Problem, 404: Problem, 422: Problem, 429: Problem, 502: Problem, 503: Problem}


class TrafficQuery(Input):
    range: str = Field("", max_length=8, description="1h, 24h, 7d or 30d (default 24h), or start and end.")
    start: str = Field("", max_length=40, description="ISO 8601 or Unix seconds.")
    end: str = Field("", max_length=40, description="ISO 8601 or Unix seconds.")
    timedim: str = Field("", max_length=8, description="minute, hour or day (default: by the span).")
    indicator: str = Field("", max_length=8, description="max, avg or min of each bucket (default max).")
    width: int = Field(selectors.DEFAULT_WIDTH, ge=selectors.MIN_WIDTH, le=selectors.MAX_WIDTH,
                       description="Points at most (min-max downsampling beyond).")
    format: str = Field("json", pattern="^(json|csv)$")


@router.get("/{service_id}/traffic", response={200: TrafficOut, **ERRORS}, url_name="traffic",
            summary="Traffic of a service's connection (rate in bit/s, bandwidth in force)")
def service_traffic(request: HttpRequest, service_id: ServiceId, params: Query[TrafficQuery]) -> TrafficOut | HttpResponse:
    who = caller(request)
    who.require(Scope.READ)
    service = service_of_tenant(request, service_id)
    now = int(time.time())
    anchor = -(-int(service.gone_at.timestamp()) // 60) * 60 if service.gone_at else None
    try:
        trange = ranges.parse({"range": params.range, "start": params.start, "end": params.end,
                               "timedim": params.timedim, "indicator": params.indicator}, now=now, anchor=anchor)
    except ranges.RangeError as exc:
        raise invalid([{"field": exc.field or "range", "message": str(exc.message)}]) from exc
    chart = selectors.chart_for_connection(tenant=who.tenant, service=service, trange=trange,
                                           width=params.width, now=now)
    if params.format == "csv":
        response = HttpResponse(export.csv_text(chart), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{export.filename(chart, "csv")}"'
        return response
    return TrafficOut.model_validate(export.payload(chart))

"""/webhooks: the tenant's outbound webhooks (signed POSTs, or chat messages, when its operations end or
its alerts fire), and their deliveries."""

from datetime import datetime
from typing import Annotated

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, Path, Router, Schema

from portal.api.auth import caller, signed_in
from portal.api.idempotency import run_write
from portal.api.models import Scope
from portal.api.present import json_response
from portal.api.problems import invalid, not_found
from portal.api.schemas import Input, Problem
from portal.webhooks import selectors, services
from portal.webhooks.models import (
    EVENT_TYPES,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookFormat,
    WebhookLanguage,
)

router = Router(tags=["webhooks"])

READ_ERRORS = {401: Problem, 403: Problem, 404: Problem, 422: Problem, 429: Problem}
# Checked by ninja (422 problem), not by a URL converter (whose miss is the pages' HTML 404).
WebhookId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The webhook's id.")]
WRITE_ERRORS = {**READ_ERRORS, 400: Problem, 409: Problem}


class WebhookIn(Input):
    # Required, but checked by the endpoint after the token's scope (an empty one is a 422 on "url"):
    # a token without the scope is told so, whatever it sent.
    url: str = Field("", max_length=2000, description="Required. Where to POST events: https (http only in local runs).")
    description: str = Field("", max_length=255)
    events: list[str] | None = Field(None, description="Events to send; all when left out: " + ", ".join(EVENT_TYPES) + ".")
    # Checked by the service, as the URL is (after the scope): a plain text here, its choices described.
    format: str = Field(WebhookFormat.GENERIC.value, max_length=16, description=(
        "What is sent: generic (the signed JSON event), or a chat message for slack, teams (a Workflows "
        "webhook), dingtalk (a custom robot) or wecom (a group robot). One of: "
        + ", ".join(WebhookFormat.values) + "."))
    language: str = Field(WebhookLanguage.EN.value, max_length=8, description=(
        "The language of a chat format's messages. One of: " + ", ".join(WebhookLanguage.values) + "."))
    secret: str = Field("", max_length=200, description=(
        "dingtalk only: the robot's signing secret (SEC…), when its security is “Additional signature”. "
        "Ignored for the other formats; never shown again."))


class WebhookOut(Schema):
    id: int
    url: str
    description: str
    events: list[str]
    format: str = Field(description="generic, slack, teams, dingtalk or wecom.")
    language: str = Field(description="The language of a chat format's messages: en or zh-hans.")
    active: bool = Field(description="False once disabled (deliveries failed for 24 h).")
    created_at: datetime
    created_by: str
    disabled_at: datetime | None
    disabled_reason: str
    failing_since: datetime | None = Field(description="Since when every delivery failed; null once one succeeds.")


class WebhookCreated(WebhookOut):
    secret: str | None = Field(description="generic: the signing secret, shown only in this answer: keep it now. "
                                           "null for a chat format (a DingTalk robot's secret is never echoed).")


class WebhookList(Schema):
    count: int
    items: list[WebhookOut]


class DeliveryOut(Schema):
    id: int
    event_id: str
    event_type: str
    state: str = Field(description="pending, delivered or given_up.")
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    status_code: int | None = Field(description="The last attempt's HTTP status; null when there was no answer.")
    latency_ms: int | None
    response_excerpt: str = Field(description="The first 500 characters of the last answer's body.")
    error: str


class DeliveryList(Schema):
    count: int
    items: list[DeliveryOut]


def webhook_out(endpoint: WebhookEndpoint) -> WebhookOut:
    return WebhookOut(
        id=endpoint.pk, url=endpoint.url, description=endpoint.description, events=list(endpoint.events or []),
        format=endpoint.format, language=endpoint.language, active=endpoint.active, created_at=endpoint.created_at,
        created_by=endpoint.created_by.get_username() if endpoint.created_by else "",
        disabled_at=endpoint.disabled_at, disabled_reason=endpoint.disabled_reason, failing_since=endpoint.failing_since,
    )


def delivery_out(row: WebhookDelivery) -> DeliveryOut:
    return DeliveryOut(
        id=row.pk, event_id=str(row.event_id), event_type=row.event_type, state=row.state, attempts=row.attempts,
        created_at=row.created_at, next_attempt_at=row.next_attempt_at, delivered_at=row.delivered_at,
        status_code=row.last_status_code, latency_ms=row.last_latency_ms,
        response_excerpt=row.last_response_excerpt, error=row.last_error,
    )


def _of_tenant(request: HttpRequest, webhook_id: int) -> WebhookEndpoint:
    endpoint = selectors.endpoint_for_tenant(tenant=caller(request).tenant, endpoint_id=webhook_id)
    if endpoint is None:
        raise not_found(_("This tenant has no webhook with this id."))
    return endpoint


@router.get("", response={200: WebhookList, **READ_ERRORS}, url_name="webhook_list",
            summary="List the tenant's webhooks (scope: read)")
def webhook_list(request: HttpRequest) -> WebhookList:
    who = caller(request)
    who.require(Scope.READ)
    items = [webhook_out(e) for e in selectors.endpoint_list_for_tenant(tenant=who.tenant)]
    return WebhookList(count=len(items), items=items)


@router.post("", response={201: WebhookCreated, **WRITE_ERRORS}, url_name="webhook_create",
             summary="Add a webhook; the answer holds its signing secret, once (scope: modify)")
def webhook_create(request: HttpRequest, body: WebhookIn) -> HttpResponse:
    who = caller(request)
    who.require(Scope.MODIFY)

    def produce() -> HttpResponse:
        try:
            endpoint, secret = services.webhook_create(tenant=who.tenant, user=who.token.user, url=body.url,
                                                       description=body.description, events=body.events,
                                                       format=body.format, language=body.language,
                                                       secret=body.secret, request=signed_in(request))
        except services.WebhookRefused as exc:
            raise invalid([{"field": exc.field, "message": exc.message}]) from exc
        created = WebhookCreated(**webhook_out(endpoint).model_dump(), secret=secret or None)
        return json_response(created, status=201,
                             location=request.build_absolute_uri(reverse("api:webhook_get", args=[endpoint.pk])))

    return run_write(request, produce)


@router.get("/{webhook_id}", response={200: WebhookOut, **READ_ERRORS}, url_name="webhook_get",
            summary="One webhook (scope: read)")
def webhook_get(request: HttpRequest, webhook_id: WebhookId) -> WebhookOut:
    caller(request).require(Scope.READ)
    return webhook_out(_of_tenant(request, webhook_id))


@router.delete("/{webhook_id}", response={204: None, **WRITE_ERRORS}, url_name="webhook_delete",
               summary="Delete a webhook and its deliveries (scope: modify)")
def webhook_delete(request: HttpRequest, webhook_id: WebhookId) -> HttpResponse:
    who = caller(request)
    who.require(Scope.MODIFY)

    def produce() -> HttpResponse:
        endpoint = _of_tenant(request, webhook_id)
        services.webhook_delete(endpoint=endpoint, user=who.token.user, request=signed_in(request))
        return HttpResponse(status=204)

    return run_write(request, produce)


@router.get("/{webhook_id}/deliveries", response={200: DeliveryList, **READ_ERRORS},
            url_name="webhook_deliveries", summary="A webhook's latest 100 deliveries, newest first (scope: read)")
def webhook_deliveries(request: HttpRequest, webhook_id: WebhookId) -> DeliveryList:
    caller(request).require(Scope.READ)
    rows = selectors.delivery_list_for_endpoint(endpoint=_of_tenant(request, webhook_id))
    return DeliveryList(count=len(rows), items=[delivery_out(row) for row in rows])


@router.post("/{webhook_id}/test", response={200: DeliveryOut, **WRITE_ERRORS}, url_name="webhook_test",
             summary="Send a “ping” event now, once, and answer with its delivery (scope: modify)")
def webhook_test(request: HttpRequest, webhook_id: WebhookId) -> HttpResponse:
    caller(request).require(Scope.MODIFY)

    def produce() -> HttpResponse:
        row = services.webhook_ping(endpoint=_of_tenant(request, webhook_id))
        return json_response(delivery_out(row))

    return run_write(request, produce)

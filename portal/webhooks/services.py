"""Webhook endpoints made and deleted, events turned into deliveries, and each delivery's attempts.

Every attempt first claims its row with a conditional UPDATE (pending, due, and its attempt count
taken in the same statement, the row then leased for `LEASE`): a duplicated message, or the sweeper
sending a row whose message is still on its way, sends nothing more. A worker that dies mid-attempt
leaves the row leased; past the lease the sweeper sends it again.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import random
import re
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit.models import Outcome
from portal.audit.services import audit_record
from portal.operations.models import Operation
from portal.operations.presenters import operation_fields
from portal.webhooks import delivery, dispatch, formats, selectors, signing, ssrf
from portal.webhooks.models import (
    EVENT_TYPES,
    EXCERPT_CHARS,
    PING,
    DeliveryState,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookFormat,
    WebhookLanguage,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from portal.tenants.models import Tenant

log = logging.getLogger(__name__)

# An attempt's hold on its row: far beyond its connect and read timeouts.
LEASE = timedelta(seconds=60)
# The sweeper leaves a row this long past due to the message already on its way.
SWEEP_GRACE = timedelta(seconds=5)
SWEEP_BATCH = 500
# A retry further off than this is left to the sweeper: a Celery countdown must stay far below the
# broker's visibility timeout (settings.CELERY_BROKER_TRANSPORT_OPTIONS).
COUNTDOWN_MAX_S = 300.0
MAX_ENDPOINTS_PER_TENANT = 20
# A DingTalk robot's signing secret: "SEC" and 64 hex digits today; any printable ASCII is let through.
DINGTALK_SECRET = re.compile(r"SEC[!-~]{1,197}")


class WebhookRefused(ValueError):
    """An endpoint the portal will not make: ``field`` and the reason in the user's words."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


# -- endpoints ----------------------------------------------------------------------------------


@transaction.atomic
def webhook_create(*, tenant: Tenant, user: User | None, url: str, description: str = "",
                   events: list[str] | None = None, format: str = WebhookFormat.GENERIC,
                   language: str = WebhookLanguage.EN, secret: str = "", request: HttpRequest | None = None
                   ) -> tuple[WebhookEndpoint, str]:
    """Make an endpoint. ``format``: what it is sent (`formats`); ``language``: the language of a
    chat format's messages; ``secret``: a DingTalk robot's own signing secret (ignored for any other
    format). Returns the endpoint and the secret to show once: the one the portal made for a generic
    endpoint, "" for a chat format (its secret, if any, is the tenant's own and never shown again)."""
    wanted = _events_checked(events)
    _format_checked(format, language)
    kept = _robot_secret(format, secret)
    url = url.strip()
    try:
        ssrf.resolve(url)
    except ssrf.UnsafeUrl as exc:
        raise WebhookRefused("url", str(exc)) from exc
    if WebhookEndpoint.objects.filter(tenant=tenant).count() >= MAX_ENDPOINTS_PER_TENANT:
        raise WebhookRefused("url", _("A tenant may have at most %(n)s webhooks. Delete one first.")
                             % {"n": MAX_ENDPOINTS_PER_TENANT})
    generated = signing.new_secret() if format == WebhookFormat.GENERIC else ""
    endpoint = WebhookEndpoint(tenant=tenant, url=url, description=description, events=wanted, format=format,
                               language=language, created_by=user)
    endpoint.set_secret(generated or kept)
    endpoint.save()
    audit_record(action="webhook.create", actor=user, tenant=tenant, obj=endpoint, object_type="webhook",
                 after={"url": url, "events": wanted, "format": format, "language": language},
                 outcome=Outcome.SUCCEEDED, request=request)
    return endpoint, generated


def _events_checked(events: list[str] | None) -> list[str]:
    wanted = list(EVENT_TYPES) if not events else list(dict.fromkeys(events))
    unknown = [event for event in wanted if event not in EVENT_TYPES]
    if unknown:
        raise WebhookRefused("events", _("Unknown events: %(events)s. Known: %(known)s.")
                             % {"events": ", ".join(unknown), "known": ", ".join(EVENT_TYPES)})
    return wanted


def _format_checked(format: str, language: str) -> None:
    if format not in WebhookFormat.values:
        raise WebhookRefused("format", _("Unknown format “%(value)s”. Known: %(known)s.")
                             % {"value": format, "known": ", ".join(WebhookFormat.values)})
    if language not in WebhookLanguage.values:
        raise WebhookRefused("language", _("Unknown language “%(value)s”. Known: %(known)s.")
                             % {"value": language, "known": ", ".join(WebhookLanguage.values)})


def _robot_secret(format: str, secret: str) -> str:
    """The secret a chat endpoint keeps: a DingTalk robot's signing secret (optional: a robot may use
    a keyword or its IP list instead); the other tools' URLs carry their key, so nothing."""
    secret = secret.strip()
    if format != WebhookFormat.DINGTALK or not secret:
        return ""
    if not DINGTALK_SECRET.fullmatch(secret):
        raise WebhookRefused("secret", _("A DingTalk robot's signing secret starts with “SEC”: copy it from the "
                                         "robot's security settings (“Additional signature”), or leave it empty."))
    return secret


@transaction.atomic
def webhook_delete(*, endpoint: WebhookEndpoint, user: User | None, request: HttpRequest | None = None) -> None:
    audit_record(action="webhook.delete", actor=user, tenant=endpoint.tenant, obj=endpoint, object_type="webhook",
                 before={"url": endpoint.url, "events": endpoint.events}, outcome=Outcome.SUCCEEDED,
                 request=request)
    endpoint.delete()


def webhook_disable(*, endpoint: WebhookEndpoint, reason: str, now: datetime | None = None) -> bool:
    """Stop sending to the endpoint (False when it was disabled already); its pending deliveries are
    given up with the reason, and the audit log records it."""
    now = now or timezone.now()
    with transaction.atomic():
        if not WebhookEndpoint.objects.filter(pk=endpoint.pk, active=True).update(
                active=False, disabled_at=now, disabled_reason=reason):
            return False
        endpoint.active, endpoint.disabled_at, endpoint.disabled_reason = False, now, reason
        WebhookDelivery.objects.filter(endpoint=endpoint, state=DeliveryState.PENDING).update(
            state=DeliveryState.GIVEN_UP, next_attempt_at=None, last_error=reason)
        audit_record(action="webhook.disable", tenant=endpoint.tenant, obj=endpoint, object_type="webhook",
                     actor_name="webhooks", outcome=Outcome.SUCCEEDED, message=reason,
                     before={"active": True}, after={"active": False})
    log.info("webhook %s disabled: %s", endpoint.pk, reason)
    return True


# -- events -------------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def operation_data(op: Operation) -> dict[str, Any]:
    """The operation as the API shows it (GET /api/v1/operations/{id}), its times as ISO 8601 text."""
    fields = operation_fields(op)
    del fields["expected_seconds"]  # an estimate for the portal's pages, not part of an event
    return {k: _iso(v) if isinstance(v, datetime) else v for k, v in fields.items()}


def event_payload(*, event_id: uuid.UUID, event_type: str, tenant_name: str, data: dict[str, Any],
                  now: datetime | None = None) -> dict[str, Any]:
    return {"id": str(event_id), "type": event_type, "created_at": _iso(now or timezone.now()),
            "tenant": tenant_name, "data": data}


def webhook_event_emit(*, tenant: Tenant, event_type: str, data: dict[str, Any]) -> list[WebhookDelivery]:
    """A delivery of the event to each of the tenant's active endpoints that asked for it, each sent
    once the caller's transaction commits. Any app may emit (alerts will)."""
    endpoints = selectors.endpoints_subscribed_for_tenant(tenant_id=tenant.pk, event_type=event_type)
    if not endpoints:
        return []
    event_id, now = uuid.uuid4(), timezone.now()
    payload = event_payload(event_id=event_id, event_type=event_type, tenant_name=tenant.name, data=data, now=now)
    made = []
    for endpoint in endpoints:
        row = WebhookDelivery.objects.create(endpoint=endpoint, event_id=event_id, event_type=event_type,
                                             payload=payload, next_attempt_at=now)
        transaction.on_commit(functools.partial(dispatch.deliver, row.pk))
        made.append(row)
    return made


def webhook_operation_ended(sender: type[Operation], operation: Operation, **_kwargs: Any) -> None:
    """Receiver of ``operation_finished`` (inside its transaction): the tenant's endpoints hear of it."""
    event_type = f"operation.{operation.state}"
    if event_type not in EVENT_TYPES:
        return
    webhook_event_emit(tenant=operation.tenant, event_type=event_type, data={"operation": operation_data(operation)})


# -- attempts -----------------------------------------------------------------------------------


def backoff_seconds(attempts: int) -> float:
    """How long after its ``attempts``-th failed attempt a delivery is tried again: doubling from the
    base, capped, with ±20 % jitter (so endpoints that failed together are not retried together)."""
    base = settings.WEBHOOK_RETRY_BASE_SECONDS
    cap = settings.WEBHOOK_RETRY_MAX_SECONDS
    delay = min(base * 2 ** max(0, min(attempts - 1, 30)), cap)
    return min(delay * random.uniform(0.8, 1.2), cap)  # noqa: S311 - jitter, not a secret


def _window() -> timedelta:
    return timedelta(seconds=settings.WEBHOOK_RETRY_WINDOW_SECONDS)


def _claim(delivery_id: int, now: datetime) -> WebhookDelivery | None:
    claimed = WebhookDelivery.objects.filter(pk=delivery_id, state=DeliveryState.PENDING,
                                             next_attempt_at__lte=now).update(
        attempts=F("attempts") + 1, next_attempt_at=now + LEASE)
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("endpoint", "endpoint__tenant").get(pk=delivery_id)


def _send(row: WebhookDelivery) -> delivery.Result:
    endpoint = row.endpoint
    try:
        target = ssrf.resolve(endpoint.url)  # again: what the name resolves to may have changed
    except ssrf.UnsafeUrl as exc:
        return delivery.Result(status=None, latency_ms=0, error=str(exc))
    out = formats.outgoing(format=endpoint.format, language=endpoint.language, secret=endpoint.secret(),
                           event_type=row.event_type, event_id=str(row.event_id), payload=row.payload)
    result = delivery.post(target, out.body, out.headers, query=out.query)
    # DingTalk and WeCom refuse with an HTTP 200: such an answer is a failed attempt, retried as any.
    refused = formats.answer_refused(endpoint.format, result.excerpt) if result.ok else ""
    return dataclasses.replace(result, error=refused) if refused else result


def delivery_attempt(*, delivery_id: int, once: bool = False) -> str:
    """Claim the delivery, send it, record the answer; schedule the next attempt or give up. Returns
    what happened ("skipped" when another attempt holds it or nothing is due). ``once``: the test
    button's ping: sent even to a disabled endpoint, never retried, never counted against the endpoint."""
    now = timezone.now()
    row = _claim(delivery_id, now)
    if row is None:
        return "skipped"
    attempt = row.attempts
    if not once and not row.endpoint.active:
        WebhookDelivery.objects.filter(pk=row.pk, attempts=attempt, state=DeliveryState.PENDING).update(
            state=DeliveryState.GIVEN_UP, next_attempt_at=None,
            last_error=row.endpoint.disabled_reason or _("The webhook is disabled."))
        return DeliveryState.GIVEN_UP
    result = _send(row)
    ended = timezone.now()
    answer = {"last_status_code": result.status, "last_latency_ms": result.latency_ms,
              "last_response_excerpt": result.excerpt[:EXCERPT_CHARS], "last_error": result.error}
    mine = WebhookDelivery.objects.filter(pk=row.pk, attempts=attempt, state=DeliveryState.PENDING)
    if result.ok:
        mine.update(state=DeliveryState.DELIVERED, delivered_at=ended, next_attempt_at=None, **answer)
        WebhookEndpoint.objects.filter(pk=row.endpoint_id, failing_since__isnull=False).update(failing_since=None)
        return DeliveryState.DELIVERED
    if not answer["last_error"]:
        answer["last_error"] = _("The endpoint answered HTTP %(status)s.") % {"status": result.status}
    if once:
        mine.update(state=DeliveryState.GIVEN_UP, next_attempt_at=None, **answer)
        return DeliveryState.GIVEN_UP
    WebhookEndpoint.objects.filter(pk=row.endpoint_id, failing_since__isnull=True).update(failing_since=ended)
    delay = backoff_seconds(attempt)
    next_at = ended + timedelta(seconds=delay)
    if next_at > row.created_at + _window():
        mine.update(state=DeliveryState.GIVEN_UP, next_attempt_at=None, **answer)
        outcome: str = DeliveryState.GIVEN_UP
    else:
        with transaction.atomic():
            if mine.update(next_attempt_at=next_at, **answer) and delay <= COUNTDOWN_MAX_S:
                transaction.on_commit(functools.partial(dispatch.deliver, row.pk, countdown=delay))
        outcome = "retrying"
    endpoint_disable_if_failing(endpoint=row.endpoint, now=ended)
    return outcome


def endpoint_disable_if_failing(*, endpoint: WebhookEndpoint, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    endpoint.refresh_from_db(fields=["failing_since", "active"])
    if not endpoint.active or endpoint.failing_since is None or endpoint.failing_since >= now - _window():
        return False
    hours = round(settings.WEBHOOK_RETRY_WINDOW_SECONDS / 3600)
    return webhook_disable(endpoint=endpoint, now=now, reason=_(
        "Every delivery failed for %(hours)s hours (since %(since)s): the webhook was disabled.")
        % {"hours": hours, "since": endpoint.failing_since.isoformat(timespec="seconds")})


def webhook_ping(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Send a "ping" event to this endpoint now, once, and return its delivery as it ended."""
    now = timezone.now()
    event_id = uuid.uuid4()
    data = {"webhook": {"id": endpoint.pk, "url": endpoint.url, "events": endpoint.events}}
    row = WebhookDelivery.objects.create(
        endpoint=endpoint, event_id=event_id, event_type=PING, next_attempt_at=now,
        payload=event_payload(event_id=event_id, event_type=PING, tenant_name=endpoint.tenant.name, data=data,
                              now=now))
    delivery_attempt(delivery_id=row.pk, once=True)
    row.refresh_from_db()
    return row


def deliveries_sweep(now: datetime | None = None) -> int:
    """Send what is due (a lost message, a retry left to the sweeper, a dead worker's lease run out)
    and disable the endpoints that failed for the whole window. Returns how many were sent."""
    now = now or timezone.now()
    sent = 0
    for pk in selectors.delivery_ids_due(before=now - SWEEP_GRACE, limit=SWEEP_BATCH):
        sent += dispatch.deliver(pk)
    for endpoint in selectors.endpoints_failing_since(before=now - _window()):
        endpoint_disable_if_failing(endpoint=endpoint, now=now)
    return sent

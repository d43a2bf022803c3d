"""Outbound webhooks: a tenant's endpoints and each event's delivery to one of them.

An endpoint's secret is stored encrypted (`portal.core.crypto`, the key ring of the IES tokens) and
decrypted only to sign a delivery. A delivery is a row first and a Celery message second: the row
says when it is next due (`next_attempt_at`), so the sweeper sends what a lost message left.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.core import crypto
from portal.tenants.models import Tenant

# What an endpoint may subscribe to; "ping" is only ever sent by the test button, to that endpoint.
OPERATION_EVENTS = (
    "operation.succeeded",
    "operation.failed",
    "operation.rolled_back",
    "operation.stuck",
    "operation.needs_attention",
)
# Sent by portal.alerts (its rules firing and clearing).
ALERT_EVENTS = ("alert.firing", "alert.cleared")
EVENT_TYPES = OPERATION_EVENTS + ALERT_EVENTS
PING = "ping"
EXCERPT_CHARS = 500


def all_events() -> list[str]:
    return list(EVENT_TYPES)


class WebhookFormat(models.TextChoices):
    """What an endpoint is sent (portal.webhooks.formats): the signed event, or a chat tool's message."""

    GENERIC = "generic", _("Generic (signed JSON event)")
    SLACK = "slack", _("Slack")
    TEAMS = "teams", _("Microsoft Teams")
    DINGTALK = "dingtalk", _("DingTalk")
    WECOM = "wecom", _("WeCom")


class WebhookLanguage(models.TextChoices):
    """The language a chat message is written in (the portal's own languages)."""

    EN = "en", _("English")
    ZH_HANS = "zh-hans", _("Simplified Chinese")


class WebhookEndpoint(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=255, blank=True)
    # Generic: the portal's HMAC secret. DingTalk: the robot's own signing secret, if it signs. Empty
    # for the other chat formats (their URL carries the key) and for a DingTalk robot that does not sign.
    secret_encrypted = models.TextField(editable=False)
    events = models.JSONField(default=all_events)
    format = models.CharField(max_length=16, choices=WebhookFormat.choices, default=WebhookFormat.GENERIC)
    language = models.CharField(max_length=8, choices=WebhookLanguage.choices, default=WebhookLanguage.EN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.TextField(blank=True)
    # Since when every attempt failed (None once one succeeds): the endpoint is disabled past the window.
    failing_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["tenant", "active"])]

    def __str__(self) -> str:
        return self.url

    def set_secret(self, secret: str) -> None:
        self.secret_encrypted = crypto.encrypt(secret) if secret else ""

    def secret(self) -> str:
        """The decrypted secret; "" when the endpoint has none."""
        return crypto.decrypt(self.secret_encrypted) if self.secret_encrypted else ""

    def subscribed(self, event_type: str) -> bool:
        return event_type in (self.events or [])


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    GIVEN_UP = "given_up", _("Given up")


class WebhookDelivery(models.Model):
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField(default=uuid.uuid4)
    event_type = models.CharField(max_length=64)
    payload = models.JSONField()
    state = models.CharField(max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When it is next due; while an attempt runs, the end of that attempt's lease (see services).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_response_excerpt = models.CharField(max_length=EXCERPT_CHARS, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"]),
            models.Index(fields=["endpoint", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} ({self.state})"

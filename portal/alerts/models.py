"""Alert rules a tenant's members set, what each rule is watching now, the events it raised, and
who hears of them by e-mail (everyone sees them in the portal; webhooks and chat robots are the
tenant's webhook endpoints, portal.webhooks).

A rule watches each service of the tenant (or one). Conditions on traffic and on the service's
state have a state per (rule, subject): they fire once the condition held for the rule's window,
remind at most every ``renotify_minutes`` while it lasts, and always clear. Operation and policy
rules raise one event per thing that happened.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.tenants.models import Tenant


class RuleKind(models.TextChoices):
    UTILISATION = "utilisation", _("Bandwidth utilisation")
    QUIET = "quiet", _("Connection quiet")
    OPERATION = "operation", _("Operations")
    SERVICE_STATE = "service_state", _("Service state")
    POLICY = "policy", _("Bandwidth policies")


class Level(models.TextChoices):
    INFO = "info", _("Information")
    WARNING = "warning", _("Warning")
    CRITICAL = "critical", _("Critical")


LEVEL_RANK = {Level.INFO: 0, Level.WARNING: 1, Level.CRITICAL: 2}


class Direction(models.TextChoices):
    EITHER = "either", _("Inbound or outbound")
    INBOUND = "in", _("Inbound")
    OUTBOUND = "out", _("Outbound")


class OperationEvent(models.TextChoices):
    FAILED = "failed", _("Failed")
    STUCK = "stuck", _("Taking longer than usual, or no answer from IES")
    FINISHED = "finished", _("Finished successfully")


class PolicyEvent(models.TextChoices):
    TAKEN = "taken", _("A change was started")
    REFUSED = "refused", _("IES refused a change")
    AWAITING = "awaiting", _("A change awaits approval")


def default_operation_events() -> list[str]:
    return [OperationEvent.FAILED, OperationEvent.STUCK]


def default_policy_events() -> list[str]:
    return [PolicyEvent.REFUSED, PolicyEvent.AWAITING]


class AlertRule(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="alert_rules")
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=RuleKind.choices)
    # One service (its IES id), or every service of the tenant when empty.
    service_id = models.CharField(max_length=64, blank=True)
    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices, default=Direction.EITHER)
    warning_pct = models.FloatField(_("warning above (%)"), null=True, blank=True)
    critical_pct = models.FloatField(_("critical above (%)"), null=True, blank=True)
    clear_pct = models.FloatField(_("cleared below (%)"), null=True, blank=True)
    floor_kbps = models.PositiveBigIntegerField(_("quiet below (kbit/s)"), null=True, blank=True)
    level = models.CharField(_("level"), max_length=8, choices=Level.choices, default=Level.WARNING)
    window_minutes = models.PositiveSmallIntegerField(_("for (minutes)"), default=5)
    renotify_minutes = models.PositiveIntegerField(_("remind every (minutes)"), default=60)
    operation_events = models.JSONField(default=default_operation_events, blank=True)
    policy_events = models.JSONField(default=default_policy_events, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant", "name", "pk"]
        indexes = [models.Index(fields=["kind", "enabled"])]

    def __str__(self) -> str:
        return self.name


class AlertState(models.Model):
    """What one rule makes of one subject (a service's IES id, or "op:<id>" for an operation)."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="states")
    subject = models.CharField(max_length=80)
    level = models.CharField(max_length=8, choices=Level.choices, blank=True)  # "": not firing
    # When the condition was first seen without having held for the window yet (service state).
    pending_since = models.DateTimeField(null=True, blank=True)
    since = models.DateTimeField(null=True, blank=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)
    event = models.ForeignKey("AlertEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "subject"], name="unique_alert_state")]

    def __str__(self) -> str:
        return f"{self.rule_id}/{self.subject}: {self.level or 'ok'}"


class EventStatus(models.TextChoices):
    FIRING = "firing", _("Firing")
    REMINDER = "reminder", _("Still firing")
    CLEARED = "cleared", _("Cleared")
    NOTICE = "notice", _("Happened")


class AlertEvent(models.Model):
    """One thing a rule raised. ``facts`` hold what the summary is written from, in any language
    (portal/alerts/presenters.py), so the page, the mail and the chat robots say the same."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="alert_events")
    rule = models.ForeignKey(AlertRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    rule_name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=RuleKind.choices)
    level = models.CharField(max_length=8, choices=Level.choices)
    status = models.CharField(max_length=8, choices=EventStatus.choices)
    subject = models.CharField(max_length=80, blank=True)
    service_id = models.CharField(max_length=64, blank=True)
    service_name = models.CharField(max_length=255, blank=True)
    facts = models.JSONField(default=dict)
    started_at = models.DateTimeField()  # when the condition began (or the thing happened)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["tenant", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.rule_name} {self.status} {self.level}"


class AlertSubscription(models.Model):
    """One user's e-mail of one tenant's alerts: from which level, and hours when only critical
    ones come (in the portal's time zone)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_subscriptions")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="alert_subscriptions")
    email = models.BooleanField(_("e-mail me"), default=True)
    min_level = models.CharField(_("from level"), max_length=8, choices=Level.choices, default=Level.WARNING)
    quiet_start = models.TimeField(_("quiet hours from"), null=True, blank=True)
    quiet_end = models.TimeField(_("quiet hours until"), null=True, blank=True)
    language = models.CharField(max_length=16, default="en")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tenant"], name="unique_alert_subscription")]

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.tenant_id}"

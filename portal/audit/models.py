from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Outcome(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    REFUSED = "refused", _("Refused")


class AuditEvent(models.Model):
    """Who did what to which object, when, from where, with what outcome. Append-only."""

    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    actor_name = models.CharField(_("who"), max_length=150, blank=True)  # kept if the user is deleted
    # The API token a write came with ("name (cvp_ab12cd34…)"), "" for the pages.
    via_token = models.CharField(_("API token"), max_length=150, blank=True)
    tenant = models.ForeignKey("tenants.Tenant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    tenant_name = models.CharField(_("tenant"), max_length=64, blank=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)  # e.g. service.create, tenant.token.replace
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_label = models.CharField(_("object"), max_length=255, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, default=Outcome.REQUESTED)
    message = models.TextField(_("message"), blank=True)
    client_address = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    operation = models.ForeignKey("operations.Operation", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="audit_events")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["tenant", "-at"]), models.Index(fields=["object_type", "object_id", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.object_label} {self.outcome}"

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.tenants.models import Tenant


class Order(models.Model):
    """What the creation wizard submitted, saved before anything is sent to IES.

    The idempotency key comes from the wizard: a double click, a re-POST after a reload or a retry
    after a timeout finds this row again instead of ordering a second service.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="orders")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    idempotency_key = models.CharField(max_length=64, unique=True)
    definition_id = models.CharField(max_length=64)
    definition_name = models.CharField(max_length=255, blank=True)
    template_id = models.CharField(max_length=64)
    list_key = models.CharField(max_length=32)
    kind = models.CharField(max_length=16, blank=True)
    name = models.CharField(_("service name"), max_length=255)
    description = models.CharField(_("description"), max_length=255, blank=True)
    parameters = models.JSONField(default=dict)
    # Set once IES accepted the order (or reconciliation found the service it made).
    ies_service_id = models.CharField(max_length=64, blank=True)
    # Field errors IES sent back: the wizard shows them on the fields IES named.
    field_errors = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "-created_at"])]

    def __str__(self) -> str:
        return self.name

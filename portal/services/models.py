from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ies_client import models as ies
from portal.core.natural import natural_key
from portal.tenants.models import Tenant

NAME_KEY_LENGTH = 512


def name_sort_key(name: str) -> str:
    """natural_key of a service name, cut to fit its column (only absurd names reach the cut)."""
    return natural_key(name)[:NAME_KEY_LENGTH]


class ServiceKind(models.TextChoices):
    """IES's service kinds (ies_client's words), with the names people read."""

    SITE2DC = ies.ServiceKind.SITE2DC.value, _("Site-to-DC")
    SITE2SITE = ies.ServiceKind.SITE2SITE.value, _("Site-to-Site")


class Service(models.Model):
    """The portal's mirror of one IES service.

    IES stays the source of truth; the mirror makes pages fast and is what a tenant sees, marked
    "last known", while IES is unreachable.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="services")
    ies_service_id = models.CharField(max_length=64)
    name = models.CharField(_("name"), max_length=255)
    # natural_key(name): the list is paged in SQL, so "site2" before "site10" must be an ORDER BY.
    # Kept current by save() and by the mirror sync (bulk writes bypass save()).
    name_key = models.CharField(max_length=NAME_KEY_LENGTH, blank=True, editable=False)
    description = models.CharField(_("description"), max_length=255, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=ServiceKind.choices, blank=True)
    cloud_vpn_name = models.CharField(ies.CONNECTION_NAME_PARAMETER, max_length=64, blank=True)
    bandwidth_kbps = models.BigIntegerField(_("bandwidth (kbit/s)"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=32, blank=True)
    active_status = models.CharField(_("active status"), max_length=32, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    service_definition_id = models.CharField(max_length=64, blank=True)
    template_id = models.CharField(max_length=64, blank=True)
    ies_created_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_changed_at = models.DateTimeField(_("last change"), null=True, blank=True)
    # Set when IES no longer lists the service; kept for its history (traffic, audit).
    gone_at = models.DateTimeField(null=True, blank=True)
    # The background refresh of this one service (its detail and IES's operation log): pages read
    # these instead of asking IES. `detail_trouble` names the last attempt's failure (an
    # exception's class name, described in the reader's language), "" when it succeeded.
    remote_history = models.JSONField(default=list, blank=True)
    history_synced_at = models.DateTimeField(null=True, blank=True)
    detail_attempted_at = models.DateTimeField(null=True, blank=True)
    detail_trouble = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "ies_service_id"], name="unique_service_per_tenant")
        ]
        indexes = [
            models.Index(fields=["tenant", "gone_at", "name"]),
            # The list's default order, to the last tie-break (name_key, name, id): its page of 50
            # is read from this index alone, not sorted from every row of the tenant's services.
            # Partial: PostgreSQL does not take "gone_at IS NULL" for an equality that would let the
            # columns after it give the order.
            models.Index(fields=["tenant", "name_key", "name", "id"], condition=Q(gone_at__isnull=True),
                         name="service_list_order"),
            # The list's status filter and its choices (the words the live services have) read
            # this index alone, not every row of a tenant's services.
            models.Index(fields=["tenant", "gone_at", "status"], name="service_status"),
        ]
        ordering = ["name_key", "name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        key = name_sort_key(self.name)
        if key != self.name_key:
            self.name_key = key
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "name_key"}
        super().save(*args, **kwargs)


class ServiceListRefresh(models.Model):
    """How fresh a tenant's mirror is: the last background read of IES's list and how it went.

    Written by the background refresh only; the list page reads it to say "as of …" and, after a
    failed attempt, why the list is the last known one (`trouble`: the failure's class name,
    described in the reader's language when the page is drawn).
    """

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, primary_key=True,
                                  related_name="service_list_refresh")
    attempted_at = models.DateTimeField(null=True, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    trouble = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"{self.tenant_id}: {self.succeeded_at}"

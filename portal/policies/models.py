"""A bandwidth policy of a service and the occurrences it plans: each one change, run exactly once."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.tenants.models import Tenant


class PolicyKind(models.TextChoices):
    ONE_OFF = "one_off", _("One-off change")
    WEEKLY = "weekly", _("Weekly calendar")
    AUTOSCALE = "autoscale", _("Auto-scale")


class PolicyState(models.TextChoices):
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    ENDED = "ended", _("Ended")


class BandwidthPolicy(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey("services.Service", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=PolicyKind.choices)
    state = models.CharField(max_length=16, choices=PolicyState.choices, default=PolicyState.ACTIVE)
    name = models.CharField(_("name"), max_length=80)
    # What a calendar or an auto-scale policy is made of (weekly.py / autoscale.py read it); {} for a
    # one-off, whose plan is its occurrences.
    spec = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # Why it is paused or ended, in the words shown to the tenant (IES's reason when IES refused).
    note = models.TextField(blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Paused because IES refused its change: shown to the tenant's members until resumed or ended.
    needs_attention = models.BooleanField(default=False)
    # An auto-scale policy's last evaluation: {"at": ISO time, "reason": autoscale.Reason, "figure":
    # percent or null, "kbps": the size it chose or null}; the page says it in the reader's language.
    last_check = models.JSONField(default=dict, blank=True)
    # A calendar's changes are planned as rows up to here (the planning task tops it up from here).
    planned_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["service", "state"]),
                   models.Index(fields=["kind", "state", "planned_until"], name="policies_plan_due")]

    def __str__(self) -> str:
        return self.name

    @property
    def actor_name(self) -> str:
        """Who the audit log names for what the policy does."""
        return str(_("policy “%(name)s”") % {"name": self.name})


class OccurrenceState(models.TextChoices):
    PROPOSED = "proposed", _("Awaiting approval")  # an auto-scale change a member must approve
    PLANNED = "planned", _("Planned")
    STARTED = "started", _("Started")  # its MODIFY operation exists: the operation tells the rest
    SKIPPED = "skipped", _("Skipped")
    CANCELLED = "cancelled", _("Cancelled")


class Occurrence(models.Model):
    """One planned change: at ``due_at``, the service to ``kbps``.

    Unique per policy and time, and moved out of PLANNED only by a conditional UPDATE in the
    transaction that starts its operation: a duplicated tick or a second worker finds nothing left
    to run, and a worker killed before committing leaves it planned for the next tick.
    """

    policy = models.ForeignKey(BandwidthPolicy, on_delete=models.CASCADE, related_name="occurrences")
    due_at = models.DateTimeField()
    kbps = models.PositiveIntegerField()
    # Runs only if the service has this bandwidth then (a change back: only over the policy's own change).
    expect_kbps = models.PositiveIntegerField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=OccurrenceState.choices, default=OccurrenceState.PLANNED)
    operation = models.OneToOneField("operations.Operation", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="policy_occurrence")
    ran_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)  # why it was skipped, in the tenant's words
    # An auto-scale change: what decided it ({"reason", "figure"}, see autoscale.Decision), and, for
    # a proposal, until when it may be approved and who approved or declined it.
    decision = models.JSONField(default=dict, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [models.UniqueConstraint(fields=["policy", "due_at"], name="unique_policy_occurrence")]
        # The tick's query: what is planned and due, oldest first.
        indexes = [models.Index(fields=["state", "due_at"], name="policies_occ_due")]

    def __str__(self) -> str:
        return f"{self.policy_id} → {self.kbps} kbit/s at {self.due_at:%Y-%m-%d %H:%M}"

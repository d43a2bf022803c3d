from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.tenants.models import Tenant


class OperationKind(models.TextChoices):
    CREATE = "create", _("Create")
    MODIFY = "modify", _("Change bandwidth")
    DELETE = "delete", _("Delete")


class OperationState(models.TextChoices):
    QUEUED = "queued", _("Waiting to be sent to IES")
    PROCESSING = "processing", _("In progress at IES")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    ROLLED_BACK = "rolled_back", _("Failed and rolled back")
    STUCK = "stuck", _("No answer from IES")
    NEEDS_ATTENTION = "needs_attention", _("Needs attention")


IN_FLIGHT_STATES = (OperationState.QUEUED, OperationState.PROCESSING)
TERMINAL_STATES = (OperationState.SUCCEEDED, OperationState.FAILED, OperationState.ROLLED_BACK)
# Not terminal and not polled either: a person must re-check (stuck) or fix a token (attention).
HALTED_STATES = (OperationState.STUCK, OperationState.NEEDS_ATTENTION)


class Operation(models.Model):
    """One change at IES, tracked from the portal's request to IES's final word.

    The row is the truth; Celery tasks are only reminders to look again. States move only by
    conditional UPDATEs (see `portal.operations.services`), so duplicate or late tasks are harmless.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="operations")
    service = models.ForeignKey("services.Service", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="operations")
    order = models.OneToOneField("catalog.Order", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="operation")
    kind = models.CharField(max_length=16, choices=OperationKind.choices)
    state = models.CharField(max_length=16, choices=OperationState.choices, default=OperationState.QUEUED,
                             db_index=True)
    ies_service_id = models.CharField(max_length=64, blank=True)
    ies_operation_id = models.CharField(max_length=64, blank=True)
    definition_id = models.CharField(max_length=64, blank=True)
    service_name = models.CharField(max_length=255, blank=True)
    # What the operation changes, e.g. {"bandwidth_kbps": 60000} → {"bandwidth_kbps": 80000}.
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    message = models.TextField(blank=True)  # IES's reason, or what the portal saw
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    # What asked when no person did (a bandwidth policy: "policy “Office hours”").
    actor_name = models.CharField(max_length=150, blank=True)
    client_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)  # IES accepted it: the clock starts
    finished_at = models.DateTimeField(null=True, blank=True)
    # Expected duration when the operation started, learned from history (seconds).
    expected_seconds = models.FloatField(null=True, blank=True)
    expected_p90_seconds = models.FloatField(null=True, blank=True)
    expected_learned = models.BooleanField(default=False)  # from history, not the default guess
    # How long IES itself says the operation took (its operation's start to end), when it says so: what
    # expectations are learned from, free of the portal's own delay in noticing the end.
    ies_duration_seconds = models.FloatField(null=True, blank=True)
    give_up_at = models.DateTimeField(null=True, blank=True)  # past this, the operation is "stuck"
    next_poll_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Which chain of tracking tasks owns the polling; a task whose ticket is stale just stops.
    poll_ticket = models.PositiveIntegerField(default=0)
    polls = models.PositiveIntegerField(default=0)
    ies_calls = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["tenant", "state"]),
            models.Index(fields=["kind", "definition_id", "state", "-finished_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.service_name} ({self.state})"

    @property
    def asker(self) -> str:
        """Who asked for it, as pages name them: the person, else what acted for them."""
        return self.requested_by.get_username() if self.requested_by else self.actor_name

    @property
    def in_flight(self) -> bool:
        return self.state in IN_FLIGHT_STATES

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES


# "Seen" is per person: who has seen how an operation ended. Two kinds of rows keep the header's
# badge one cheap query however long the history grows: a mark per person and tenant ("every
# outcome up to here is seen", what "Mark all as read" moves), and a row per operation opened after
# it. Moving the mark deletes the rows it covers, so the table stays as small as the unread news.


class OperationsSeenMark(models.Model):
    """A person has seen, in one tenant, every operation that finished at or before `finished_up_to`."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    finished_up_to = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tenant"], name="unique_operations_seen_mark")]

    def __str__(self) -> str:
        return f"{self.user_id} saw {self.tenant_id} up to {self.finished_up_to}"


class OperationSeen(models.Model):
    """A person has seen how this operation ended (opened its page after it finished)."""

    operation = models.ForeignKey(Operation, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        # Also the index of the badge's "has this person seen it" lookup.
        constraints = [models.UniqueConstraint(fields=["operation", "user"], name="unique_operation_seen")]

    def __str__(self) -> str:
        return f"{self.user_id} saw operation {self.operation_id}"

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "portal.webhooks"
    label = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        # The operations app sits below this one: an operation's end becomes an event here, and its
        # deliveries are written in the same transaction (sent once it commits).
        from portal.operations.models import Operation
        from portal.operations.signals import operation_finished, operation_halted
        from portal.webhooks.services import webhook_operation_ended

        operation_finished.connect(webhook_operation_ended, sender=Operation, dispatch_uid="webhooks.operation_end")
        # Stuck or needing attention: not an end, but what a tenant's tooling must hear of.
        operation_halted.connect(webhook_operation_ended, sender=Operation, dispatch_uid="webhooks.operation_halt")

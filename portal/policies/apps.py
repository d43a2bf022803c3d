from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PoliciesConfig(AppConfig):
    name = "portal.policies"
    label = "policies"
    verbose_name = _("Bandwidth policies")

    def ready(self) -> None:
        # The operations app sits below this one: an operation a policy started ends through its
        # signal, and a refusal by IES pauses the policy here.
        from portal.operations.models import Operation
        from portal.operations.signals import operation_finished
        from portal.policies.services import policy_operation_ended

        operation_finished.connect(policy_operation_ended, sender=Operation, dispatch_uid="policies.operation_end")

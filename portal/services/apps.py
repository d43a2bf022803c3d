from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServicesConfig(AppConfig):
    name = "portal.services"
    label = "services"
    verbose_name = _("CloudVPN services")

    def ready(self) -> None:
        # The operations app sits below this one: it announces an operation's end with a signal,
        # and the mirror of the tenant's services follows here.
        from portal.operations.models import Operation
        from portal.operations.signals import operation_finished
        from portal.services.mirror import record_operation_end

        operation_finished.connect(record_operation_end, sender=Operation, dispatch_uid="services.mirror")

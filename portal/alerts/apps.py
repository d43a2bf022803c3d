from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AlertsConfig(AppConfig):
    name = "portal.alerts"
    label = "alerts"
    verbose_name = _("Alerts")

    def ready(self) -> None:
        from portal.alerts import receivers

        receivers.connect()

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TenantsConfig(AppConfig):
    name = "portal.tenants"
    label = "tenants"
    verbose_name = _("Tenants")

    def ready(self) -> None:
        # The token key ring checks live in portal.core (cross-cutting); importing registers them.
        from portal.core import checks  # noqa: F401

"""Django app config: makes ``ies_client`` an installed app (management commands, no models)."""

from django.apps import AppConfig


class IesClientConfig(AppConfig):
    name = "ies_client"
    verbose_name = "IES client"
    default_auto_field = "django.db.models.BigAutoField"

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TwoFactorConfig(AppConfig):
    name = "portal.twofactor"
    label = "twofactor"
    verbose_name = _("Two-factor authentication")

    def ready(self) -> None:
        from django.contrib import admin
        from django_otp.plugins.otp_static.models import StaticDevice
        from django_otp.plugins.otp_totp.models import TOTPDevice

        from portal.twofactor import receivers

        receivers.connect()
        # django-otp's admin shows each authenticator's secret (its QR code) and the recovery codes:
        # not in the portal's read-only admin. Staff reset a user's factor on the user's page.
        for model in (TOTPDevice, StaticDevice):
            if admin.site.is_registered(model):
                admin.site.unregister(model)

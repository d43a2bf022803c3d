"""Whether single sign-on is on, and what the login page calls it (read per request: tests and
staff-facing checks see the settings of the moment)."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _


def enabled() -> bool:
    return bool(settings.SSO_ISSUER and settings.OIDC_RP_CLIENT_ID)


def provider_name() -> str:
    return settings.SSO_PROVIDER_NAME or _("your organisation's account")

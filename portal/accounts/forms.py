"""The login form, refusing passwords where a tenant signs in by single sign-on; Django's password
reset form, sending at most one mail per address every few minutes (and none to those users)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from portal.sso import config as sso_config
from portal.sso import selectors as sso_selectors

# One reset mail per address within this window; the page says the same whether or not one went.
RESET_MAIL_EVERY_SECONDS = 300


class ThrottledPasswordResetForm(PasswordResetForm):
    def get_users(self, email: str) -> Iterable[Any]:
        key = "accounts:password-reset:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()
        # add() is False when the address had a mail within the window, and also when Redis is down:
        # then nothing is stored (get() misses) and the mail goes, unthrottled rather than never.
        if not cache.add(key, 1, RESET_MAIL_EVERY_SECONDS) and cache.get(key) is not None:
            return ()
        users = super().get_users(email)
        if sso_config.enabled():
            # Their password is not how they sign in: no mail (the page reads the same).
            return (u for u in users if not sso_selectors.tenants_requiring_sso(user=u))
        return users


class PortalAuthenticationForm(AuthenticationForm):
    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if sso_config.enabled() and (names := sso_selectors.tenants_requiring_sso(user=user)):
            raise ValidationError(
                _("%(tenants)s signs in with single sign-on: use “Sign in with %(provider)s” below, not a password.")
                % {"tenants": ", ".join(names), "provider": sso_config.provider_name()}, code="sso_required")

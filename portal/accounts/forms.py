"""Django's password reset form, sending at most one mail per address every few minutes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.forms import PasswordResetForm
from django.core.cache import cache

# One reset mail per address within this window; the page says the same whether or not one went.
RESET_MAIL_EVERY_SECONDS = 300


class ThrottledPasswordResetForm(PasswordResetForm):
    def get_users(self, email: str) -> Iterable[Any]:
        key = "accounts:password-reset:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()
        # add() is False when the address had a mail within the window, and also when Redis is down:
        # then nothing is stored (get() misses) and the mail goes, unthrottled rather than never.
        if not cache.add(key, 1, RESET_MAIL_EVERY_SECONDS) and cache.get(key) is not None:
            return ()
        return super().get_users(email)

"""Reads of a user's signed-in sessions."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone

from portal.accounts.models import UserSession
from portal.core.crypto import decrypt

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def session_key_of(row: UserSession) -> str | None:
    """The session key a row stands for; None when it cannot be read (an encryption key dropped)."""
    try:
        return decrypt(row.key_encrypted)
    except Exception:  # noqa: BLE001 - an unreadable key is a session that can no longer be found
        return None


def live_session_keys(keys: list[str]) -> set[str]:
    """Those of these session keys whose session still exists and has not expired."""
    session_model = import_module(settings.SESSION_ENGINE).SessionStore.get_model_class()
    return set(session_model.objects.filter(session_key__in=keys, expire_date__gt=timezone.now())
               .values_list("session_key", flat=True))


def sessions_of_user(*, user: User) -> list[UserSession]:
    """The user's sessions that are still signed in, the most recently seen first."""
    rows = list(UserSession.objects.filter(user=user).order_by("-last_seen_at", "-pk"))
    keys = {row.pk: session_key_of(row) for row in rows}
    live = live_session_keys([key for key in keys.values() if key])
    return [row for row in rows if keys[row.pk] in live]

"""Each login records its session, each logout drops it (connected in AccountsConfig.ready())."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth.signals import user_logged_in, user_logged_out

from portal.accounts import services

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.http import HttpRequest


def _logged_in(sender: Any, request: HttpRequest | None = None, user: User | None = None, **kwargs: Any) -> None:
    if request is not None and user is not None:
        services.session_start(request=request, user=user)


def _logged_out(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    if request is not None:
        services.session_end(request=request)


def connect() -> None:
    uid = "portal.accounts.receivers"
    user_logged_in.connect(_logged_in, dispatch_uid=f"{uid}.logged_in")
    user_logged_out.connect(_logged_out, dispatch_uid=f"{uid}.logged_out")

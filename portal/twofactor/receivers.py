"""At login: remember in the session whether its user has nothing to verify (the gate then asks
the database nothing on their pages, portal/twofactor/gate.py)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.contrib.auth.signals import user_logged_in
from django.http import HttpRequest

from portal.twofactor import gate, selectors


def _on_login(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    if request is None or not hasattr(request, "session"):
        return
    if selectors.gate_for(user=user) is None:
        gate.remember_nothing_to_verify(request.session)
    else:
        gate.forget(request.session)


def connect() -> None:
    user_logged_in.connect(_on_login, dispatch_uid="twofactor.login")

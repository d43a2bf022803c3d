"""The creation wizard's state, kept in the session under a key that is also the order's
idempotency key: a reload, the back button or a second tab all find the same state, and
submitting twice finds the same order."""

import secrets

from django.http import Http404, HttpRequest
from django.utils import timezone

PREFIX = "wizard:"
MAX_WIZARDS = 20  # abandoned wizards are dropped, oldest first


def wizard_start(request: HttpRequest, *, tenant_id: int, definition_id: str, data: dict | None = None,
                 field_errors: dict | None = None) -> str:
    key = secrets.token_urlsafe(16)
    request.session[PREFIX + key] = {
        "tenant_id": tenant_id,
        "definition_id": definition_id,
        "data": data or {},
        "field_errors": field_errors or {},
        "step": "parameters",
        "started": timezone.now().isoformat(),
    }
    _prune(request)
    return key


def wizard_get(request: HttpRequest, key: str, *, tenant_id: int) -> dict:
    state = request.session.get(PREFIX + key)
    if not state or state.get("tenant_id") != tenant_id:
        raise Http404("no such order in progress")
    return state


def wizard_save(request: HttpRequest, key: str, state: dict) -> None:
    request.session[PREFIX + key] = state


def _prune(request: HttpRequest) -> None:
    keys = sorted((k for k in request.session.keys() if k.startswith(PREFIX)),
                  key=lambda k: request.session[k].get("started", ""))
    for k in keys[:-MAX_WIZARDS]:
        del request.session[k]

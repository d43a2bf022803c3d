"""A user's own account: their password and their signed-in sessions."""

from __future__ import annotations

import datetime as dt
import time
from importlib import import_module
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.accounts.models import UserSession
from portal.accounts.selectors import live_session_keys, session_key_of
from portal.audit.context import recorded_by_caller
from portal.audit.models import Outcome
from portal.audit.services import audit_record, client_address
from portal.core.crypto import encrypt

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.http import HttpRequest

# Kept in the session: the id of its UserSession row, and when it last counted as seen (epoch seconds).
SESSION_ID_KEY = "accounts.session"
LAST_SEEN_KEY = "accounts.last_seen"
# "Last seen" is written at most this often: a session save and one UPDATE a minute, not per request.
LAST_SEEN_EVERY_SECONDS = 60


def _end_session(row: UserSession) -> None:
    """Delete the Django session through the session engine (its cached copy too), then the row."""
    key = session_key_of(row)
    if key:
        import_module(settings.SESSION_ENGINE).SessionStore(key).delete()
    row.delete()


def session_start(*, request: HttpRequest, user: User) -> None:
    """At login: record the new session and drop the rows of the user's sessions that have ended."""
    session = getattr(request, "session", None)
    if session is None or not session.session_key:
        return
    session_prune(user=user)
    now = timezone.now()
    row = UserSession.objects.create(
        user=user, key_encrypted=encrypt(session.session_key), created_at=now, last_seen_at=now,
        address=(client_address(request) or "")[:64],
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300])
    session[SESSION_ID_KEY] = row.pk
    session[LAST_SEEN_KEY] = time.time()


def session_prune(*, user: User) -> None:
    rows = list(UserSession.objects.filter(user=user))
    keys = {row.pk: session_key_of(row) for row in rows}
    live = live_session_keys([key for key in keys.values() if key])
    UserSession.objects.filter(pk__in=[pk for pk, key in keys.items() if key not in live]).delete()


def session_end(*, request: HttpRequest) -> None:
    """At logout: the session's row goes (Django deletes the session itself)."""
    session = getattr(request, "session", None)
    row_id = session.get(SESSION_ID_KEY) if session is not None else None
    if row_id:
        UserSession.objects.filter(pk=row_id).delete()


def session_rekey(*, request: HttpRequest) -> None:
    """The session's key changed (cycle_key: a password change keeps the session under a new key)."""
    row_id = request.session.get(SESSION_ID_KEY)
    if row_id and request.session.session_key:
        UserSession.objects.filter(pk=row_id).update(key_encrypted=encrypt(request.session.session_key))


def session_seen(*, request: HttpRequest, now: float) -> None:
    """A request of a signed-in session: its "last seen", at most once a minute (the caller checks)."""
    request.session[LAST_SEEN_KEY] = now
    row_id = request.session.get(SESSION_ID_KEY)
    if row_id:
        UserSession.objects.filter(pk=row_id).update(last_seen_at=dt.datetime.fromtimestamp(now, tz=dt.UTC))


def session_sign_out(*, request: HttpRequest, user: User, session_id: int) -> bool:
    """Sign out one of the user's other sessions. False when it is not theirs, gone, or this one."""
    if session_id == request.session.get(SESSION_ID_KEY):
        return False
    row = UserSession.objects.filter(pk=session_id, user=user).first()
    if row is None:
        return False
    with transaction.atomic():
        _end_session(row)
        audit_record(action="auth.sessions.end", actor=user, obj=user, outcome=Outcome.SUCCEEDED,
                     after={"address": row.address, "started": row.created_at.isoformat()}, request=request)
    return True


def sessions_end_others(*, request: HttpRequest, user: User, audited: bool = True) -> int:
    """Sign out every session of the user but the request's own (all of them for a request without
    one: a password reset). Returns how many ended."""
    current = getattr(request, "session", {}).get(SESSION_ID_KEY)
    with transaction.atomic():
        rows = list(UserSession.objects.filter(user=user).exclude(pk=current or 0))
        for row in rows:
            _end_session(row)
        if audited:
            audit_record(action="auth.sessions.end_others", actor=user, obj=user, outcome=Outcome.SUCCEEDED,
                         after={"sessions": len(rows)}, request=request)
    return len(rows)


def password_set(*, request: HttpRequest, user: User, password: str, action: str) -> None:
    """Set the user's own password (a change, or a reset by e-mail), audited with the user as actor
    (the model receivers of portal.audit stay quiet: recorded here, once)."""
    with transaction.atomic(), recorded_by_caller():
        user.set_password(password)
        user.save()
        audit_record(action=action, actor=user, obj=user, outcome=Outcome.SUCCEEDED, request=request)


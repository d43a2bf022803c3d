"""A user's signed-in sessions, as the sessions page lists them."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class UserSession(models.Model):
    """One signed-in session: written at login (portal/accounts/receivers.py), deleted at logout or
    when signed out from the sessions page; a row whose session has expired is no longer listed and
    is dropped at the user's next login.

    The session's key is kept encrypted (portal.core.crypto), never in clear: signing a session out
    deletes it through the session engine, which needs the key. The session carries the row's id
    (services.SESSION_ID_KEY), which is how "this device" is known."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="signed_in_sessions")
    key_encrypted = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    # Updated at most once a minute (services.LAST_SEEN_EVERY_SECONDS).
    last_seen_at = models.DateTimeField(default=timezone.now)
    address = models.CharField(max_length=64, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-last_seen_at"], name="accounts_session_user_seen")]

    def __str__(self) -> str:
        return f"{self.user_id} since {self.created_at:%Y-%m-%d %H:%M}"

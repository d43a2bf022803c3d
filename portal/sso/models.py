"""Who a person is at the identity provider: the (issuer, subject) pair of OpenID Connect.

The first single sign-on finds the user by the configured claim (the e-mail address by default) and
links the pair to them; every later one finds them by the pair, which the provider never reuses or
changes, whatever becomes of the address."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SsoIdentity(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identities")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="unique_sso_identity")]

    def __str__(self) -> str:
        return f"{self.user} ({self.subject} at {self.issuer})"

"""Who must use a second factor, and what they have enrolled (django-otp's devices)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.tenants.models import Membership


def totp_device_for(*, user: User) -> TOTPDevice | None:
    """The user's confirmed authenticator, if any."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def totp_pending_for(*, user: User) -> TOTPDevice | None:
    """An authenticator being enrolled (its secret shown, no code confirmed yet)."""
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()


def recovery_device_for(*, user: User) -> StaticDevice | None:
    return StaticDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def recovery_codes_left(*, user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def two_factor_required_by(*, user: User) -> list[str]:
    """Why the user must use a second factor: "staff" and/or the names of their tenants that
    require it (active tenants only). Empty: the factor is the user's own choice."""
    reasons = ["staff"] if user.is_staff and settings.TWO_FACTOR_REQUIRED_FOR_STAFF else []
    reasons += list(Membership.objects.filter(user=user, tenant__require_two_factor=True, tenant__is_active=True)
                    .order_by("tenant__name").values_list("tenant__name", flat=True))
    return reasons


def two_factor_required(*, user: User) -> bool:
    return bool(two_factor_required_by(user=user))


def gate_for(*, user: User) -> str | None:
    """What a signed-in, not yet verified user must do first: "verify" (a code of their
    authenticator), "setup" (enrol one: it is required of them) or None (nothing)."""
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return "verify"
    if two_factor_required(user=user):
        return "setup"
    return None

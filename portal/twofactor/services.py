"""Enrolling, checking and removing a user's second factor (a TOTP authenticator and recovery
codes, django-otp's devices), each change audited. Codes are never logged nor stored in clear
anywhere but django-otp's own rows (recovery codes, consumed on use)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.audit.models import Outcome
from portal.audit.services import audit_record
from portal.twofactor import gate, selectors

RECOVERY_CODES = 10
TOTP_DEVICE_NAME = "authenticator"
RECOVERY_DEVICE_NAME = "recovery"
_TOTP_CODE = re.compile(r"^\d{6}$")


class TwoFactorRequired(Exception):
    """The factor cannot be removed: staff, or a tenant of the user, requires it."""


@dataclass(frozen=True)
class CodeCheck:
    """What checking a code gave: accepted (by which device, a recovery code or not), or refused,
    and until when the throttle refuses the next try (None: no wait)."""

    ok: bool
    device: TOTPDevice | StaticDevice | None = None
    recovery: bool = False
    wait_until: dt.datetime | None = None
    tried: bool = True  # False: refused by the throttle before the code was looked at

    @property
    def wait_seconds(self) -> int:
        if self.wait_until is None:
            return 0
        return max(0, int((self.wait_until - timezone.now()).total_seconds() + 0.999))


def _normalise(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()


def _locked_until(device: TOTPDevice | StaticDevice) -> dt.datetime | None:
    allowed, data = device.verify_is_allowed()
    if allowed or not data:
        return None
    locked: dt.datetime | None = data.get("locked_until")
    return locked


def _check(device: TOTPDevice | StaticDevice, code: str) -> CodeCheck:
    """One try of `code` against `device`, its row locked: the throttle counts every wrong code
    (django-otp's throttle_increment), a try during the wait is refused without looking."""
    device = type(device).objects.select_for_update().get(pk=device.pk)
    wait = _locked_until(device)
    if wait is not None:
        return CodeCheck(ok=False, wait_until=wait, tried=False)
    if device.verify_token(code):
        return CodeCheck(ok=True, device=device, recovery=isinstance(device, StaticDevice))
    return CodeCheck(ok=False, wait_until=_locked_until(device))


def _failed(*, request: HttpRequest, user: User, check: CodeCheck, purpose: str) -> None:
    if check.tried:
        # What was asked, never the code typed.
        audit_record(action="twofactor.failed", actor=user, request=request, obj=user, outcome=Outcome.FAILED,
                     message=purpose)


@transaction.atomic
def totp_enrol_begin(*, user: User) -> TOTPDevice:
    """The authenticator being enrolled: the pending one (the same secret on every visit of the page)
    or a new one, unconfirmed until a code of it is entered."""
    pending = selectors.totp_pending_for(user=user)
    if pending is not None:
        return pending
    device: TOTPDevice = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


def _recovery_codes_new(*, user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def totp_enrol_confirm(*, request: HttpRequest, user: User, device: TOTPDevice,
                       code: str) -> tuple[CodeCheck, list[str]]:
    """Confirm the pending authenticator with one of its codes: on success the user has it, ten new
    recovery codes (returned, to be shown once) and this session counts as verified."""
    with transaction.atomic():
        check = _check(device, _normalise(code)) if _TOTP_CODE.match(_normalise(code)) else CodeCheck(ok=False)
        if not check.ok:
            _failed(request=request, user=user, check=check, purpose="enrol")
            return check, []
        confirmed = check.device
        assert isinstance(confirmed, TOTPDevice)
        TOTPDevice.objects.filter(user=user).exclude(pk=confirmed.pk).delete()
        confirmed.confirmed = True
        confirmed.save(update_fields=["confirmed"])
        codes = _recovery_codes_new(user=user)
        audit_record(action="twofactor.enrol", actor=user, request=request, obj=user, outcome=Outcome.SUCCEEDED)
    otp_login(request, confirmed)
    gate.forget(request.session)
    return CodeCheck(ok=True, device=confirmed), codes


def code_check(*, request: HttpRequest, user: User, code: str, purpose: str) -> CodeCheck:
    """A code of the user's authenticator (six digits) or one of their recovery codes (used up).
    Does not verify the session: code_verify does."""
    code = _normalise(code)
    with transaction.atomic():
        device: TOTPDevice | StaticDevice | None
        if _TOTP_CODE.match(code):
            device = selectors.totp_device_for(user=user)
        else:
            device = selectors.recovery_device_for(user=user)
        check = _check(device, code) if device is not None and code else CodeCheck(ok=False)
        if not check.ok:
            _failed(request=request, user=user, check=check, purpose=purpose)
        elif check.recovery:
            audit_record(action="twofactor.recovery_used", actor=user, request=request, obj=user,
                         outcome=Outcome.SUCCEEDED, message=purpose,
                         after={"recovery_codes_left": selectors.recovery_codes_left(user=user)})
    return check


def code_verify(*, request: HttpRequest, user: User, code: str) -> CodeCheck:
    """The second step of a login: a right code verifies this session (django-otp's login)."""
    check = code_check(request=request, user=user, code=code, purpose="login")
    if check.ok and check.device is not None:
        otp_login(request, check.device)
        gate.forget(request.session)
    return check


def recovery_codes_regenerate(*, request: HttpRequest, user: User, code: str) -> tuple[CodeCheck, list[str]]:
    """Ten new recovery codes for a current code; the old ones stop working."""
    check = code_check(request=request, user=user, code=code, purpose="recovery codes")
    if not check.ok:
        return check, []
    with transaction.atomic():
        codes = _recovery_codes_new(user=user)
        audit_record(action="twofactor.recovery_regenerate", actor=user, request=request, obj=user,
                     outcome=Outcome.SUCCEEDED)
    return check, codes


def two_factor_remove(*, request: HttpRequest, user: User, code: str) -> CodeCheck:
    """Remove the user's own factor, for a current code; refused (TwoFactorRequired) when staff or a
    tenant of theirs requires it."""
    if selectors.two_factor_required(user=user):
        raise TwoFactorRequired
    check = code_check(request=request, user=user, code=code, purpose="remove")
    if check.ok:
        with transaction.atomic():
            _devices_delete(user=user)
            audit_record(action="twofactor.remove", actor=user, request=request, obj=user,
                         outcome=Outcome.SUCCEEDED)
        gate.forget(request.session)
    return check


def _devices_delete(*, user: User) -> int:
    deleted, _ = TOTPDevice.objects.filter(user=user).delete()
    static, _ = StaticDevice.objects.filter(user=user).delete()
    return deleted + static


@transaction.atomic
def two_factor_reset(*, user: User, actor: User, request: HttpRequest | None = None) -> bool:
    """Staff: delete every factor of `user` (a lost phone). Their sessions stop counting as
    verified; they enrol again at their next page if a factor is required of them. False: there
    was nothing to delete (nothing is recorded)."""
    if not _devices_delete(user=user):
        return False
    audit_record(action="twofactor.reset", actor=actor, request=request, obj=user, outcome=Outcome.SUCCEEDED)
    return True

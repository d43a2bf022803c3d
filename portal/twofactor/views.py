"""The two-factor pages: the second step of a login (verify), enrolment (setup) and the user's own
page (status, new recovery codes, removal). Writes go through services.py, which audits them."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from portal.core.http import SignedInRequest
from portal.twofactor import presenters, selectors, services
from portal.twofactor.forms import CodeForm
from portal.twofactor.middleware import is_verified


def _next_url(request: SignedInRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return "/"


def _refusal(form: CodeForm, check: services.CodeCheck) -> None:
    """Say why a code was refused, and how long to wait when the throttle holds the next try."""
    if check.tried:
        form.add_error("code", _("That code is not right."))
    seconds = check.wait_seconds
    if seconds:
        form.add_error("code", ngettext(
            "Too many wrong codes: wait %(seconds)d second before trying again.",
            "Too many wrong codes: wait %(seconds)d seconds before trying again.", seconds) % {"seconds": seconds})


def _codes_page(request: SignedInRequest, codes: list[str], *, enrolled: bool) -> HttpResponse:
    return render(request, "twofactor/recovery_codes.html",
                  {"codes": codes, "enrolled": enrolled, "next": _next_url(request)})


@never_cache
@require_http_methods(["GET", "POST"])
def verify(request: SignedInRequest) -> HttpResponse:
    """After the password: a code of the user's authenticator, or one of their recovery codes."""
    if is_verified(request.user):
        return redirect(_next_url(request))
    step = selectors.gate_for(user=request.user)
    if step != "verify":
        if step == "setup":
            return redirect(f"{reverse('twofactor:setup')}?{request.GET.urlencode()}")
        return redirect(_next_url(request))
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        check = services.code_verify(request=request, user=request.user, code=form.cleaned_data["code"])
        if check.ok:
            if check.recovery:
                left = selectors.recovery_codes_left(user=request.user)
                messages.warning(request, ngettext(
                    "You used a recovery code: %(left)d is left. Make new ones on your two-factor page.",
                    "You used a recovery code: %(left)d are left. Make new ones on your two-factor page.",
                    left) % {"left": left})
            return redirect(_next_url(request))
        _refusal(form, check)
    return render(request, "twofactor/verify.html", {"form": form, "next": _next_url(request)},
                  status=400 if form.is_bound else 200)


@never_cache
@require_http_methods(["GET", "POST"])
def setup(request: SignedInRequest) -> HttpResponse:
    """Enrol an authenticator app: its QR code and secret, confirmed with one of its codes; then
    the recovery codes, shown once."""
    if selectors.totp_device_for(user=request.user) is not None:
        if not is_verified(request.user):
            return redirect(f"{reverse('twofactor:verify')}?{request.GET.urlencode()}")
        return redirect("twofactor:manage")
    device = services.totp_enrol_begin(user=request.user)
    form = CodeForm(request.POST if request.method == "POST" else None, recovery=False)
    if request.method == "POST" and form.is_valid():
        check, codes = services.totp_enrol_confirm(request=request, user=request.user, device=device,
                                                   code=form.cleaned_data["code"])
        if check.ok:
            return _codes_page(request, codes, enrolled=True)
        _refusal(form, check)
    return render(request, "twofactor/setup.html", {
        "form": form,
        "qr": presenters.qr_data_uri(device),
        "secret": presenters.secret_text(device),
        "required": selectors.two_factor_required(user=request.user),
        "next": _next_url(request),
    }, status=400 if form.is_bound else 200)


def _manage_page(request: SignedInRequest, *, regenerate_form: CodeForm | None = None,
                 remove_form: CodeForm | None = None, status: int = 200) -> HttpResponse:
    user = request.user
    required_by = selectors.two_factor_required_by(user=user)
    return render(request, "twofactor/manage.html", {
        "device": selectors.totp_device_for(user=user),
        "codes_left": selectors.recovery_codes_left(user=user),
        "required": bool(required_by),
        "required_as_staff": "staff" in required_by,
        "required_tenants": [name for name in required_by if name != "staff"],
        "regenerate_form": regenerate_form or CodeForm(prefix="regenerate"),
        "remove_form": remove_form or CodeForm(prefix="remove"),
    }, status=status)


@never_cache
@require_http_methods(["GET"])
def manage(request: SignedInRequest) -> HttpResponse:
    return _manage_page(request)


@never_cache
@require_POST
def regenerate(request: SignedInRequest) -> HttpResponse:
    form = CodeForm(request.POST, prefix="regenerate")
    if form.is_valid():
        check, codes = services.recovery_codes_regenerate(request=request, user=request.user,
                                                          code=form.cleaned_data["code"])
        if check.ok:
            return _codes_page(request, codes, enrolled=False)
        _refusal(form, check)
    return _manage_page(request, regenerate_form=form, status=400)


@require_POST
def remove(request: SignedInRequest) -> HttpResponse:
    form = CodeForm(request.POST, prefix="remove")
    if form.is_valid():
        try:
            check = services.two_factor_remove(request=request, user=request.user, code=form.cleaned_data["code"])
        except services.TwoFactorRequired:
            messages.error(request, _("Two-factor authentication is required for your account: it cannot be "
                                      "removed. If you lost your phone, use a recovery code or ask an administrator "
                                      "to reset it."))
            return redirect("twofactor:manage")
        if check.ok:
            messages.success(request, _("Two-factor authentication is off for your account."))
            return redirect("twofactor:manage")
        _refusal(form, check)
    return _manage_page(request, remove_form=form, status=400)

"""A user's own account: change the password, reset it by e-mail, see and end their sessions.

The password pages are Django's auth views with the portal's templates; what they change is recorded
through portal.accounts.services (audited with the user as actor, other sessions ended)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from portal.accounts import presenters, selectors, services
from portal.accounts.forms import ThrottledPasswordResetForm

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def _signed_in(request: HttpRequest) -> User:
    """The request's user: these pages are behind LoginRequiredMiddleware."""
    return cast("User", request.user)


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:password_change_done")

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not _signed_in(request).has_usable_password():  # signs in by single sign-on: the page says so
            return self.get(request, *args, **kwargs)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        user = form.user
        services.password_set(request=self.request, user=user, password=form.cleaned_data["new_password1"],
                              action="user.password.change")
        # This session stays (under a new key); every other one of the user ends.
        update_session_auth_hash(self.request, user)
        services.session_rekey(request=self.request)
        services.sessions_end_others(request=self.request, user=user, audited=False)
        return HttpResponseRedirect(self.get_success_url())


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"


class PasswordResetView(auth_views.PasswordResetView):
    """Always answers the same "sent" page, whether the address is known or not. The mail is
    rendered in the request's language (LocaleMiddleware activated it)."""

    form_class = ThrottledPasswordResetForm
    template_name = "accounts/password_reset.html"
    subject_template_name = "accounts/password_reset_subject.txt"
    email_template_name = "accounts/password_reset_email.txt"
    html_email_template_name = "accounts/password_reset_email.html"
    success_url = reverse_lazy("accounts:password_reset_done")
    extra_email_context = {"site_name": gettext_lazy("CloudVPN Portal")}


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form: SetPasswordForm) -> HttpResponse:
        user = form.user
        services.password_set(request=self.request, user=user, password=form.cleaned_data["new_password1"],
                              action="user.password.reset_by_email")
        services.sessions_end_others(request=self.request, user=user, audited=False)
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


@require_GET
def session_list(request: HttpRequest) -> HttpResponse:
    current = request.session.get(services.SESSION_ID_KEY)
    rows: list[dict[str, Any]] = [
        {"id": row.pk, "created_at": row.created_at, "last_seen_at": row.last_seen_at, "address": row.address,
         "browser": presenters.browser_label(row.user_agent), "user_agent": row.user_agent,
         "current": row.pk == current}
        for row in selectors.sessions_of_user(user=_signed_in(request))
    ]
    return render(request, "accounts/sessions.html", {"sessions": rows})


@require_POST
def session_end_others(request: HttpRequest) -> HttpResponse:
    ended = services.sessions_end_others(request=request, user=_signed_in(request))
    messages.success(request, ngettext("Signed out %(count)d other session.", "Signed out %(count)d other sessions.",
                                       ended) % {"count": ended})
    return redirect("accounts:sessions")


@require_POST
def session_sign_out(request: HttpRequest, session_id: int) -> HttpResponse:
    if services.session_sign_out(request=request, user=_signed_in(request), session_id=session_id):
        messages.success(request, _("That session is signed out."))
    else:
        messages.info(request, _("That session had already ended."))
    return redirect("accounts:sessions")

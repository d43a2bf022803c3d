"""Single sign-on's pages: off to the identity provider, back from it, and logging out of both.

mozilla-django-oidc's views with the provider's endpoints from discovery (portal.sso.discovery), and
every failure sent to the login page with what happened and what to do (portal.sso.failures)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from portal.sso import config, discovery, failures, services
from portal.tenants.access import landing_url
from portal.twofactor import gate

ID_TOKEN_KEY = "oidc_id_token"  # where mozilla-django-oidc keeps it (OIDC_STORE_ID_TOKEN)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _failed(request: HttpRequest, reason: str, detail: str = "") -> HttpResponse:
    services.refused(reason=reason, detail=detail, request=request)
    messages.error(request, failures.message(reason))
    return redirect("login")


class SsoStartView(OIDCAuthenticationRequestView):
    """Sends the browser to the provider's authorization endpoint (with state, nonce and PKCE)."""

    def __init__(self, **kwargs: Any) -> None:
        super(OIDCAuthenticationRequestView, self).__init__(**kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not config.enabled():
            raise Http404
        try:
            found = discovery.provider()
        except discovery.ProviderError as exc:
            return _failed(request, exc.reason, str(exc))
        self.OIDC_OP_AUTH_ENDPOINT = found.authorization_endpoint
        self.OIDC_RP_CLIENT_ID = config.settings.OIDC_RP_CLIENT_ID
        return super().get(request)


class SsoCallbackView(OIDCAuthenticationCallbackView):
    """Where the provider sends the browser back: the code becomes a signed-in user, or a reason."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not config.enabled():
            raise Http404
        try:
            return super().get(request)
        except SuspiciousOperation:  # a state this browser never started (replayed, or another's)
            return _failed(request, "state")

    def login_failure(self) -> HttpResponse:
        request = self.request
        reason, detail = getattr(request, "sso_failure", None) or (
            ("denied", str(request.GET.get("error", ""))[:100]) if request.GET.get("error") else ("state", ""))
        return _failed(request, reason, detail)

    def login_success(self) -> HttpResponse:
        request = self.request
        request.sso_login = True  # the login's audit event says how
        response = super().login_success()
        if getattr(request, "sso_second_factor", False):
            gate.remember_verified_by_provider(request.session)
        return response

    @property
    def success_url(self) -> str:
        return self.request.session.get("oidc_login_next") or landing_url(self.request)


class SsoAwareLogoutView(auth_views.LogoutView):
    """Django's logout; a session that came by single sign-on also ends at the provider
    (RP-initiated logout), which sends the browser back to the login page."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        id_token = request.session.get(ID_TOKEN_KEY)
        response = super().post(request, *args, **kwargs)
        if not id_token or not config.enabled():
            return response
        try:
            end_session = discovery.provider().end_session_endpoint
        except discovery.ProviderError:
            return response
        if not end_session or _origin(end_session) != _origin(config.settings.SSO_ISSUER):
            # Elsewhere than the issuer, the page's form-action would stop the browser on its way.
            messages.info(request, _("You are signed out of the portal. You may still be signed in at %(provider)s.")
                          % {"provider": config.provider_name()})
            return response
        query = urlencode({"id_token_hint": id_token, "client_id": config.settings.OIDC_RP_CLIENT_ID,
                           "post_logout_redirect_uri": request.build_absolute_uri(reverse("login"))})
        return HttpResponseRedirect(f"{end_session}?{query}")

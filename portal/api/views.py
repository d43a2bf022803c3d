"""The member's page of personal API tokens: the list, a new token (its secret shown once), revoke."""

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from portal.api import selectors, services
from portal.api.forms import TokenCreateForm
from portal.api.models import ApiToken
from portal.api.presenters import token_state, with_states
from portal.core.exceptions import AccessRefused
from portal.core.http import SignedInRequest
from portal.tenants.access import read_only_reason, require_membership, tenant_object_or_404
from portal.tenants.models import Membership, Role


def _refuse_impersonated(membership: Membership) -> None:
    """Staff seeing as a tenant look only: a token made or revoked would be theirs, not the tenant's."""
    if getattr(membership, "impersonated", False):
        raise AccessRefused(read_only_reason(membership), tenant=membership.tenant)


@require_http_methods(["GET", "POST"])
@sensitive_variables("secret")  # an error report shows this frame's secret as stars
def tokens(request: SignedInRequest) -> HttpResponse:
    """The signed-in user's tokens for the current tenant, and the form that makes one.

    A viewer may make a token too: it reads only (allowed_scopes). A new token's secret is rendered
    in this POST's answer alone, never kept in the session, a message or a URL, and that answer is
    no-store. A BREACH guess has nothing to home in on: each answer's secret is new."""
    membership = require_membership(request)
    if request.method == "POST":
        _refuse_impersonated(membership)
    now = timezone.now()
    listed = list(selectors.token_list_for_user(user=request.user, tenant_id=membership.tenant_id))
    form = _form(request.POST if request.method == "POST" else None, membership, listed, now)
    created, secret, status = None, "", 200
    if form.is_bound:
        status = 400
        if form.is_valid():
            try:
                created, secret = services.token_create(
                    membership=membership, name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"],
                    expires_at=form.expires_at(now), request=request)
            except services.TokenRefused:
                form.add_error(None, _("The token could not be made. Please try again."))
            else:
                status = 201
                listed.insert(0, created)
                form = _form(None, membership, listed, now)  # the next token starts from an empty form
    response = render(request, "api/tokens.html", {
        **_page_context(membership, listed, now), "form": form, "created": created, "secret": secret,
        "curl_url": request.build_absolute_uri(reverse("api:service_list")),
    }, status=status)
    if secret:
        # A form's answer is otherwise only no-cache (portal.core.cache_headers): this one must not
        # be kept at all, not even for the back button.
        response["Cache-Control"] = "no-store"
    return response


def _form(data: Any, membership: Membership, listed: list[ApiToken], now: datetime) -> TokenCreateForm:
    live_names = [t.name for t in listed if token_state(t, now) == "active"]
    return TokenCreateForm(data, allowed=services.allowed_scopes(membership.role), taken_names=live_names)


def _page_context(membership: Membership, listed: list[ApiToken], now: datetime) -> dict[str, Any]:
    impersonated = getattr(membership, "impersonated", False)
    return {
        "tokens": with_states(listed, now), "can_manage": not impersonated,
        "read_only": read_only_reason(membership) if impersonated else "",
        "viewer": membership.role == Role.VIEWER and not impersonated,
    }


@require_POST
def token_revoke(request: SignedInRequest, pk: int) -> HttpResponse:
    """Revoke one of the user's own tokens of the current tenant (anyone else's is a 404)."""
    membership = require_membership(request)
    _refuse_impersonated(membership)
    own = selectors.token_list_for_user(user=request.user, tenant_id=membership.tenant_id)
    _membership, token = tenant_object_or_404(request, own, pk=pk)
    if services.token_revoke(token=token, by=request.user, request=request):
        messages.success(request, _("Token “%(name)s” revoked: it no longer works.") % {"name": token.name})
    else:
        messages.info(request, _("Token “%(name)s” was revoked already.") % {"name": token.name})
    return redirect("api_tokens:list")

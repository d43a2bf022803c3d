"""The alert pages: what fires now and what happened, the tenant's rules (members change them,
viewers read), and one's own e-mail subscription (anyone in the tenant, viewers too)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from portal.alerts import selectors, services, wording
from portal.alerts.forms import ChannelForm, RuleForm, SubscriptionForm
from portal.alerts.models import AlertRule
from portal.core.exceptions import AccessRefused
from portal.tenants.access import read_only_reason, require_membership, require_writer
from portal.tenants.models import Membership
from portal.webhooks import selectors as webhook_selectors
from portal.webhooks import services as webhooks
from portal.webhooks.models import DeliveryState, WebhookEndpoint


def _services(membership: Membership) -> list[tuple[str, str]]:
    return selectors.service_choices(tenant_id=membership.tenant_id)


@require_safe
def alert_list(request: HttpRequest) -> HttpResponse:
    membership = require_membership(request)
    tenant_id = membership.tenant_id
    firing = selectors.firing_of(tenant_id=tenant_id)
    events = selectors.events_of(tenant_id=tenant_id)
    for event in events:
        event.summary = wording.summary(event)  # type: ignore[attr-defined]
    for state in firing:
        state.summary = wording.summary(state.event) if state.event else ""  # type: ignore[attr-defined]
    names = dict(_services(membership))
    rules = list(selectors.rules_of(tenant_id=tenant_id))
    for rule in rules:
        rule.service_name = names.get(rule.service_id, rule.service_id)  # type: ignore[attr-defined]
    return render(request, "alerts/alert_list.html", {
        "firing": firing, "events": events, "rules": rules, "can_write": membership.can_write,
        "read_only": "" if membership.can_write else read_only_reason(membership),
        "subscription": selectors.subscription_of(membership=membership)})


@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    membership = require_writer(request) if request.method == "POST" else require_membership(request)
    rule: AlertRule | None = None
    if pk is not None:
        rule = selectors.rule_of(tenant_id=membership.tenant_id, pk=pk)
        if rule is None:
            raise Http404("no such rule")
    if not membership.can_write:
        raise AccessRefused(read_only_reason(membership), tenant=membership.tenant)
    form = RuleForm(request.POST or None, instance=rule, services=_services(membership),
                    initial=None if rule else {"kind": request.GET.get("kind", "utilisation")})
    if request.method == "POST" and form.is_valid():
        saved = services.rule_save(membership=membership, values=form.cleaned_data, rule=rule, request=request)
        messages.success(request, _("Saved the rule “%(name)s”.") % {"name": saved.name})
        return redirect("alerts:list")
    return render(request, "alerts/rule_form.html", {"form": form, "rule": rule},
                  status=400 if request.method == "POST" else 200)


@require_POST
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    membership = require_writer(request)
    rule = selectors.rule_of(tenant_id=membership.tenant_id, pk=pk)
    if rule is None:
        raise Http404("no such rule")
    services.rule_delete(membership=membership, rule=rule, request=request)
    messages.success(request, _("Deleted the rule “%(name)s”.") % {"name": rule.name})
    return redirect("alerts:list")


@require_http_methods(["GET", "POST"])
def subscription(request: HttpRequest) -> HttpResponse:
    membership = require_membership(request)
    if getattr(membership, "impersonated", False):
        raise AccessRefused(read_only_reason(membership), tenant=membership.tenant)
    current = selectors.subscription_of(membership=membership)
    form = SubscriptionForm(request.POST or None, instance=current,
                            initial=None if current else {"email": True})
    if request.method == "POST" and form.is_valid():
        services.subscription_save(membership=membership, email=form.cleaned_data["email"],
                                   min_level=form.cleaned_data["min_level"],
                                   quiet_start=form.cleaned_data["quiet_start"],
                                   quiet_end=form.cleaned_data["quiet_end"],
                                   language=translation.get_language() or "en")
        messages.success(request, _("Your alert e-mail settings are saved."))
        return redirect("alerts:list")
    return render(request, "alerts/subscription.html", {"form": form, "has_email": bool(membership.user.email)},
                  status=400 if request.method == "POST" else 200)


# -- channels: the tenant's webhook endpoints, with the chat robots' formats ---------------------


def _masked(url: str) -> str:
    """A chat robot's address holds its key: the page shows where it goes, not the key."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…" if parts.path.strip("/") or parts.query else url


@require_http_methods(["GET", "POST"])
def channel_list(request: HttpRequest) -> HttpResponse:
    membership = require_writer(request) if request.method == "POST" else require_membership(request)
    form = ChannelForm(request.POST or None) if membership.can_write else None
    if request.method == "POST" and form is not None and form.is_valid():
        data = form.cleaned_data
        try:
            endpoint, secret = webhooks.webhook_create(
                tenant=membership.tenant, user=membership.user, url=data["url"], description=data["description"],
                events=data["events"], format=data["format"], language=data["language"], secret=data["secret"],
                request=request)
        except webhooks.WebhookRefused as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            if secret:  # shown once, on this answer alone (never stored, never cached)
                response = render(request, "alerts/channel_secret.html", {"endpoint": endpoint, "secret": secret},
                                  status=201)
                response["Cache-Control"] = "no-store"
                return response
            messages.success(request, _("Added the channel. Send it a test to see it arrive."))
            return redirect("alerts:channels")
    rows = []
    for endpoint in webhook_selectors.endpoint_list_for_tenant(tenant=membership.tenant):
        rows.append({"endpoint": endpoint, "address": _masked(endpoint.url),
                     "deliveries": webhook_selectors.delivery_list_for_endpoint(endpoint=endpoint, limit=5)})
    return render(request, "alerts/channels.html", {
        "channels": rows, "form": form, "can_write": membership.can_write,
        "read_only": "" if membership.can_write else read_only_reason(membership)},
        status=400 if request.method == "POST" else 200)


def _channel(request: HttpRequest, pk: int) -> tuple[Membership, WebhookEndpoint]:
    membership = require_writer(request)
    endpoint = webhook_selectors.endpoint_for_tenant(tenant=membership.tenant, endpoint_id=pk)
    if endpoint is None:
        raise Http404("no such channel")
    return membership, endpoint


@require_POST
def channel_test(request: HttpRequest, pk: int) -> HttpResponse:
    _membership, endpoint = _channel(request, pk)
    sent = webhooks.webhook_ping(endpoint=endpoint)
    if sent.state == DeliveryState.DELIVERED:
        messages.success(request, _("The test arrived: HTTP %(status)s in %(ms)s ms.")
                         % {"status": sent.last_status_code, "ms": sent.last_latency_ms})
    else:
        messages.error(request, _("The test did not arrive: %(error)s Check the address, and that the tool "
                                  "accepts messages from the portal.") % {"error": sent.last_error})
    return redirect("alerts:channels")


@require_POST
def channel_delete(request: HttpRequest, pk: int) -> HttpResponse:
    membership, endpoint = _channel(request, pk)
    webhooks.webhook_delete(endpoint=endpoint, user=membership.user, request=request)
    messages.success(request, _("Deleted the channel."))
    return redirect("alerts:channels")

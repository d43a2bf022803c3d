from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ies_client import models as ies
from ies_client.errors import IESError, IESNotFound
from portal.catalog import wizard
from portal.catalog.forms import OrderForm, allowed_values, field_help, field_label, review_rows
from portal.catalog.models import Order
from portal.catalog.selectors import (
    LastKnown,
    definition_detail_or_last_known,
    definition_list_or_last_known,
    order_for_key,
)
from portal.catalog.services import order_place
from portal.core.exceptions import AccessRefused
from portal.core.http import SignedInRequest
from portal.services.selectors import service_list_for_tenant
from portal.tenants.access import (
    current_membership,
    require_membership,
    require_writer,
    tenant_object_for_writer_or_404,
)
from portal.tenants.ies import TenantNotConfigured
from portal.tenants.ies_errors import Trouble, describe
from portal.tenants.models import Membership, Tenant

IES_FAILURES = (IESError, TenantNotConfigured)


@dataclass(frozen=True)
class Stale:
    """IES did not answer: the page shows what it last sent, read at ``saved_at``."""

    problem: str
    advice: str
    saved_at: datetime


def _stale(known: LastKnown[Any]) -> Stale:
    trouble = describe(known.error)
    return Stale(trouble.problem, trouble.advice, datetime.fromtimestamp(known.saved_at, tz=UTC))


@require_GET
def catalog_list(request: HttpRequest) -> HttpResponse:
    membership = require_membership(request)
    context: dict[str, Any] = {"membership": membership, "definitions": [], "trouble": None, "stale": None}
    try:
        definitions = definition_list_or_last_known(tenant=membership.tenant,
                                                    refresh=request.GET.get("refresh") == "1")
    except IES_FAILURES as exc:
        context["trouble"] = describe(exc)
    else:
        if isinstance(definitions, LastKnown):
            context["stale"], definitions = _stale(definitions), definitions.value
        context["definitions"] = definitions
    return render(request, "catalog/catalog_list.html", context)


def _detail_or_trouble(request: HttpRequest, membership: Membership, definition_id: str
                       ) -> tuple[ies.ServiceDefinitionDetail | None, Trouble | None, Stale | None]:
    """The definition (or its last known detail, ``Stale`` saying so), or what kept IES from answering."""
    try:
        detail = definition_detail_or_last_known(tenant=membership.tenant, definition_id=definition_id)
    except IESNotFound:
        raise Http404("no such definition") from None
    except IES_FAILURES as exc:
        return None, describe(exc), None
    if isinstance(detail, LastKnown):
        return detail.value, None, _stale(detail)
    return detail, None, None


@require_GET
def catalog_detail(request: HttpRequest, definition_id: str) -> HttpResponse:
    membership = require_membership(request)
    detail, trouble, stale = _detail_or_trouble(request, membership, definition_id)
    fields = [(spec, field_label(spec), allowed_values(spec), field_help(spec, with_bounds=False))
              for spec in (detail.fields if detail else ())]
    return render(request, "catalog/catalog_detail.html",
                  {"detail": detail, "fields": fields, "trouble": trouble, "stale": stale, "membership": membership})


def _require_writer_keeping_draft(request: HttpRequest, key: str, *, keep_post: bool = False) -> Membership:
    """require_writer for the wizard's steps, checked before the wizard's state (a viewer gets 403,
    whatever the key). A member made a viewer while filling the wizard keeps what they typed: the
    submitted values go into the wizard's session state before the refusal, and the refusal says
    so, so that they carry on once the role is given back."""
    try:
        return require_writer(request)
    except AccessRefused as exc:
        try:
            state = wizard.wizard_get(request, key, tenant_id=exc.tenant.pk) if exc.tenant else None
        except Http404:
            state = None
        if state is None or getattr(current_membership(request), "impersonated", False):
            raise  # no draft of theirs to keep (or staff seeing as the tenant): the reason alone
        if keep_post and request.method == "POST":
            state["data"] = _submitted(request)
            wizard.wizard_save(request, key, state)
        kept = _("What you entered in this order is kept: once you may order again, open the order "
                 "page again to carry on where you left off.")
        raise AccessRefused(f"{exc.reason} {kept}", tenant=exc.tenant) from exc


def _submitted(request: HttpRequest) -> dict[str, list[str]]:
    return {k: v for k, v in request.POST.lists() if k != "csrfmiddlewaretoken"}


@require_POST
def order_start(request: HttpRequest, definition_id: str) -> HttpResponse:
    membership = require_writer(request)
    key = wizard.wizard_start(request, tenant_id=membership.tenant_id, definition_id=definition_id)
    return redirect("catalog:order_parameters", key=key)


def _names_in_use(tenant: Tenant) -> tuple[set[str], set[str]]:
    services = service_list_for_tenant(tenant=tenant).values_list("name", "cloud_vpn_name")
    return {s[0] for s in services}, {s[1] for s in services if s[1]}


def _bound_form(request: HttpRequest, state: dict[str, Any], detail: ies.ServiceDefinitionDetail, tenant: Tenant,
                data: QueryDict | None = None) -> OrderForm:
    service_names, vpn_names = _names_in_use(tenant)
    if data is None and state["data"]:
        data = QueryDict(mutable=True)
        for name, values in state["data"].items():
            data.setlist(name, values)
    return OrderForm(data, detail=detail, names_in_use=vpn_names, service_names_in_use=service_names)


def _apply_ies_errors(form: OrderForm, field_errors: dict[str, list[str]] | None) -> None:
    """Put what IES rejected on the field IES named (or on the form when it named none we show)."""
    for name, reasons in (field_errors or {}).items():
        target = "service_name" if name == "name" else name
        for reason in reasons:
            message = _("IES rejected this value: %(reason)s") % {"reason": reason}
            form.add_error(target if target in form.fields else None, message)


@require_http_methods(["GET", "POST"])
def order_parameters(request: HttpRequest, key: str) -> HttpResponse:
    membership = _require_writer_keeping_draft(request, key, keep_post=True)
    state = wizard.wizard_get(request, key, tenant_id=membership.tenant_id)
    detail, trouble, stale = _detail_or_trouble(request, membership, state["definition_id"])
    if detail is None:
        return render(request, "catalog/order_parameters.html", {"trouble": trouble, "key": key}, status=503)
    if not detail.definition.orderable:
        messages.error(request, _("“%(name)s” cannot be ordered: IES reports it as %(status)s.")
                       % {"name": detail.definition.name, "status": detail.definition.status})
        return redirect("catalog:detail", definition_id=detail.id)
    if request.method == "POST":
        form = _bound_form(request, state, detail, membership.tenant, data=request.POST)
        state["data"] = _submitted(request)
        state["field_errors"] = {}
        if form.is_valid():
            state["step"] = "review"
            wizard.wizard_save(request, key, state)
            return redirect("catalog:order_review", key=key)
        wizard.wizard_save(request, key, state)
    else:
        form = _bound_form(request, state, detail, membership.tenant) if state["data"] else OrderForm(
            detail=detail, names_in_use=set(), service_names_in_use=set())
        if state["data"]:
            form.is_valid()
            _apply_ies_errors(form, state.get("field_errors"))
    form.describe_multi_part_fields()
    focus = form.autofocus()
    return render(request, "catalog/order_parameters.html",
                  {"form": form, "detail": detail, "key": key, "focus": focus, "stale": stale})


@require_http_methods(["GET", "POST"])
def order_review(request: SignedInRequest, key: str) -> HttpResponse:
    membership = _require_writer_keeping_draft(request, key)
    state = wizard.wizard_get(request, key, tenant_id=membership.tenant_id)
    existing = order_for_key(tenant=membership.tenant, idempotency_key=key)
    if existing is not None and existing.operation is not None:
        # Submitted already (double click, reload after submit): show that order, never a second.
        return redirect("operations:detail", pk=existing.operation.pk)
    detail, trouble, stale = _detail_or_trouble(request, membership, state["definition_id"])
    if detail is None:
        return render(request, "catalog/order_review.html", {"trouble": trouble, "key": key}, status=503)
    form = _bound_form(request, state, detail, membership.tenant)
    if not state["data"] or not form.is_valid():
        return redirect("catalog:order_parameters", key=key)
    if request.method == "POST":
        op = order_place(
            tenant=membership.tenant, user=request.user, request=request, idempotency_key=key, detail=detail,
            name=form.cleaned_data["service_name"], description=form.cleaned_data.get("description") or "",
            parameters=form.ies_parameters(),
        )
        return redirect("operations:detail", pk=op.pk)
    return render(request, "catalog/order_review.html",
                  {"form": form, "detail": detail, "key": key, "rows": review_rows(form), "stale": stale})


@require_POST
def order_correct(request: HttpRequest, pk: int) -> HttpResponse:
    """IES rejected an order: start a new wizard with its values and IES's field errors."""
    membership, order = tenant_object_for_writer_or_404(request, Order, pk=pk)
    data = {"service_name": [order.name], "description": [order.description]}
    for name, value in order.parameters.items():
        if ies.parameter_role(name)[0] is ies.ParameterRole.BANDWIDTH:
            # The number-and-unit field's two parts: the amount as IES holds it, in kbit/s.
            data[f"{name}_0"], data[f"{name}_1"] = [value], ["kbit/s"]
        else:
            data[name] = [value]
    key = wizard.wizard_start(request, tenant_id=membership.tenant_id, definition_id=order.definition_id, data=data,
                              field_errors=order.field_errors)
    return redirect("catalog:order_parameters", key=key)

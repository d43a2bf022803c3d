"""/services: the tenant's services (from the portal's mirror of IES), orders, changes, deletes."""

import hashlib
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.http.request import QueryDict
from django.utils.translation import gettext as _
from ninja import Field as QueryField
from ninja import Query, Router

from ies_client import models as ies
from portal.api.auth import caller, signed_in
from portal.api.idempotency import run_write
from portal.api.models import Scope
from portal.api.present import (
    SERVICE_COLUMNS,
    json_data,
    json_response,
    next_page_url,
    operation_accepted,
    service_out,
    service_row,
)
from portal.api.problems import conflict, invalid, not_found
from portal.api.schemas import (
    BandwidthChangeIn,
    DryRun,
    IESRequest,
    Input,
    OperationOut,
    Problem,
    ServiceCreateIn,
    ServiceId,
    ServiceOut,
    ServicePage,
)
from portal.catalog.forms import OrderForm
from portal.catalog.selectors import LastKnown, definition_detail_or_last_known
from portal.catalog.services import order_place
from portal.core.bandwidth_input import CONTRACT_MAX_KBPS, CONTRACT_MIN_KBPS, CONTRACT_STEP_KBPS, check_bounds
from portal.operations.models import IN_FLIGHT_STATES, Operation
from portal.services import services as service_changes
from portal.services.models import Service, ServiceListRefresh
from portal.services.queries import filtered_services, service_list_freshness
from portal.services.selectors import service_list_for_tenant
from portal.tenants.ies import ies_for_tenant
from portal.tenants.models import Tenant

router = Router(tags=["services"])

READ_ERRORS = {401: Problem, 403: Problem, 404: Problem, 422: Problem, 429: Problem}
WRITE_ERRORS = {**READ_ERRORS, 400: Problem, 409: Problem, 502: Problem, 503: Problem}


class ServiceFilters(Input):
    q: str = QueryField("", max_length=100, description="Part of the name, connection name or id.")
    status: str = QueryField("", max_length=32, description="IES's status, e.g. Active.")
    kind: str = QueryField("", max_length=16, description="site_to_dc or site_to_site.")
    limit: int = QueryField(50, ge=1, le=200)
    offset: int = QueryField(0, ge=0, le=1_000_000)


def service_of_tenant(request: HttpRequest, service_id: str, *, include_gone: bool = True) -> Service:
    """The caller's tenant's service with this IES id, else 404: the tenant is in the query."""
    services: QuerySet[Service] = Service.objects.filter(tenant=caller(request).tenant, ies_service_id=service_id)
    if not include_gone:
        services = services.filter(gone_at__isnull=True)
    service = services.first()
    if service is None:
        raise not_found(_("This tenant has no service with this id."))
    return service


@router.get("", response={200: ServicePage, **READ_ERRORS}, url_name="service_list",
            summary="List the tenant's services")
def service_list(request: HttpRequest, filters: Query[ServiceFilters]) -> HttpResponse:
    who = caller(request)
    who.require(Scope.READ)
    services = filtered_services(tenant=who.tenant, q=filters.q, status=filters.status, kind=filters.kind)
    count = services.count()
    rows = list(services.values(*SERVICE_COLUMNS)[filters.offset:filters.offset + filters.limit])
    running = dict(Operation.objects.filter(service__in=[r["pk"] for r in rows], state__in=IN_FLIGHT_STATES)
                   .values_list("service_id", "pk")) if rows else {}
    freshness = service_list_freshness(tenant=who.tenant, state=ServiceListRefresh.objects.filter(tenant=who.tenant).first())
    next_url = next_page_url(request, offset=filters.offset, limit=filters.limit, count=count)
    # Built as plain data and encoded once (ServicePage documents it): validating 50 rows of our
    # own making again costs more than the rest of the request.
    return json_data({"count": count, "limit": filters.limit, "offset": filters.offset, "next": next_url,
                      "as_of": freshness.as_of, "items": [service_row(r, in_flight=running.get(r["pk"])) for r in rows]})


@router.get("/{service_id}", response={200: ServiceOut, **READ_ERRORS}, url_name="service_get",
            summary="One service")
def service_get(request: HttpRequest, service_id: ServiceId) -> ServiceOut:
    caller(request).require(Scope.READ)
    service = service_of_tenant(request, service_id)
    running = Operation.objects.filter(service=service, state__in=IN_FLIGHT_STATES).values_list("pk", flat=True).first()
    return service_out(service, in_flight=running)


def _order_form(tenant: Tenant, detail: ies.ServiceDefinitionDetail, body: ServiceCreateIn) -> OrderForm:
    data = QueryDict(mutable=True)
    data["service_name"], data["description"] = body.name, body.description
    known = {spec.name: spec for spec in detail.fields}
    for name, value in body.parameters.items():
        spec = known.get(name)
        if spec is not None and (spec.role is ies.ParameterRole.BANDWIDTH or spec.in_kbps):
            data[f"{name}_0"], data[f"{name}_1"] = str(value), "kbit/s"
        else:
            data[name] = str(value)
    names = service_list_for_tenant(tenant=tenant).values_list("name", "cloud_vpn_name")
    service_names = {n for n, _c in names}
    vpn_names = {c for _n, c in names if c}
    form = OrderForm(data, detail=detail, names_in_use=vpn_names, service_names_in_use=service_names)
    unknown = sorted(set(body.parameters) - set(known))
    if unknown:
        form.is_valid()
        for name in unknown:
            form.add_error(None, _("“%(name)s” is not a parameter of this definition.") % {"name": name})
    return form


def _dry_run(method: str, path: str, body: dict[str, Any] | None) -> HttpResponse:
    """A dry run's answer: the IES request the write would send, unsent."""
    return json_response(DryRun(valid=True, ies_request=IESRequest(method=method, path=path, body=body),
                                note=_("Nothing was written and IES was not asked to change anything.")))


def _form_errors(form: OrderForm) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    for field, messages in form.errors.items():
        name = {"service_name": "name", "__all__": "parameters"}.get(field, field)
        if field not in ("service_name", "description", "__all__"):
            name = f"parameters.{field}"
        errors.extend({"field": name, "message": str(m)} for m in messages)
    return errors


@router.post("", response={202: OperationOut, 200: DryRun, **WRITE_ERRORS}, url_name="service_create",
             summary="Order a service (202: the create operation)")
def service_create(request: HttpRequest, body: ServiceCreateIn, dry_run: bool = False) -> HttpResponse:
    who = caller(request)
    who.require(Scope.ORDER)

    def produce() -> HttpResponse:
        found = definition_detail_or_last_known(tenant=who.tenant, definition_id=body.definition_id)
        detail = found.value if isinstance(found, LastKnown) else found
        if not detail.definition.orderable:
            raise conflict("not-orderable", _("“%(name)s” cannot be ordered: IES reports it as %(status)s.")
                           % {"name": detail.definition.name, "status": detail.definition.status})
        form = _order_form(who.tenant, detail, body)
        if not form.is_valid():
            raise invalid(_form_errors(form))
        name = form.cleaned_data["service_name"]
        description = form.cleaned_data.get("description") or ""
        parameters = form.ies_parameters()
        if dry_run:
            method, path, ies_body = ies_for_tenant(who.tenant, for_page=True).describe_create(
                name=name, definition=detail, parameters=parameters, description=description)
            return _dry_run(method, path, ies_body)
        key = request.headers.get("Idempotency-Key")
        # Orders' keys are unique across tenants: the user's and the tenant's ids, and the key hashed
        # (not cut: two long keys that share a beginning are two orders).
        order_key = (f"api:{who.token.user_id}:{who.tenant.pk}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"
                     if key else f"api:{who.token.pk}:{uuid.uuid4().hex}")
        op = order_place(tenant=who.tenant, user=who.token.user, request=request, idempotency_key=order_key,
                         detail=detail, name=name, description=description, parameters=parameters)
        return operation_accepted(request, op)

    return run_write(request, produce)


@router.patch("/{service_id}", response={202: OperationOut, 200: DryRun, **WRITE_ERRORS}, url_name="service_update",
              summary="Change a service's bandwidth (202: the modify operation)")
def service_update(request: HttpRequest, service_id: ServiceId, body: BandwidthChangeIn, dry_run: bool = False) -> HttpResponse:
    who = caller(request)
    who.require(Scope.MODIFY)

    def produce() -> HttpResponse:
        service = service_of_tenant(request, service_id, include_gone=False)
        try:
            check_bounds(body.bandwidth_kbps, minimum=CONTRACT_MIN_KBPS, maximum=CONTRACT_MAX_KBPS,
                         step=CONTRACT_STEP_KBPS)
        except ValidationError as exc:
            raise invalid([{"field": "bandwidth_kbps", "message": " ".join(exc.messages)}]) from exc
        if dry_run:
            if not service.cloud_vpn_name:
                raise conflict("change-refused", _("The portal does not know this service's connection yet. "
                                                   "Try again in a minute."))
            target = ies.Service(service_id=service.ies_service_id, name=service.name,
                                 kind=ies.ServiceKind.parse(service.kind), cloud_vpn_name=service.cloud_vpn_name)
            method, path, ies_body = ies_for_tenant(who.tenant, for_page=True).describe_change_bandwidth(
                target, body.bandwidth_kbps)
            return _dry_run(method, path, ies_body)
        try:
            op = service_changes.service_bandwidth_change(membership=who.membership, service=service,
                                                          new_kbps=body.bandwidth_kbps, request=signed_in(request))
        except service_changes.ServiceBusy as exc:
            raise conflict("service-busy", str(exc)) from exc
        except service_changes.ChangeRefused as exc:
            raise conflict("change-refused", str(exc)) from exc
        return operation_accepted(request, op)

    return run_write(request, produce)


@router.delete("/{service_id}", response={202: OperationOut, 200: DryRun, **WRITE_ERRORS}, url_name="service_delete",
               summary="Delete a service (202: the delete operation)")
def service_delete(request: HttpRequest, service_id: ServiceId, dry_run: bool = False) -> HttpResponse:
    who = caller(request)
    who.require(Scope.DELETE)

    def produce() -> HttpResponse:
        service = service_of_tenant(request, service_id, include_gone=False)
        if dry_run:
            method, path, ies_body = ies_for_tenant(who.tenant, for_page=True).describe_delete(service.ies_service_id)
            return _dry_run(method, path, ies_body)
        try:
            op = service_changes.service_delete(membership=who.membership, service=service, request=signed_in(request))
        except service_changes.ChangeRefused as exc:
            raise conflict("service-busy", str(exc)) from exc
        return operation_accepted(request, op)

    return run_write(request, produce)


"""Placing an order: saved first, sent to IES by a task, never twice."""

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.http import HttpRequest

from ies_client import models as ies
from portal.catalog.models import Order
from portal.operations.models import Operation, OperationKind
from portal.operations.services import operation_start
from portal.tenants.models import Tenant


@transaction.atomic
def order_place(*, tenant: Tenant, user: User, request: HttpRequest | None, idempotency_key: str, detail: ies.ServiceDefinitionDetail,
                name: str, description: str, parameters: dict[str, str]) -> Operation:
    """Save the order and its create operation; the IES call happens after commit.

    Called twice with the same key (double click, re-POST after reload), it returns the first
    order's operation and changes nothing.
    """
    existing = Order.objects.filter(idempotency_key=idempotency_key, tenant=tenant).select_related("operation").first()
    if existing is not None:
        return existing.operation
    try:
        with transaction.atomic():
            order = Order.objects.create(
                tenant=tenant, created_by=user, idempotency_key=idempotency_key, definition_id=detail.id,
                definition_name=detail.definition.name, template_id=detail.template_id, list_key=detail.list_key or "",
                kind=detail.kind.value if detail.kind else "", name=name, description=description, parameters=parameters,
            )
    except IntegrityError:
        # The same key won a race in another request a moment ago.
        return Order.objects.get(idempotency_key=idempotency_key, tenant=tenant).operation
    after = {"name": name, "kind": order.kind,
             "bandwidth_kbps": int(_value_of(detail, ies.ParameterRole.BANDWIDTH, parameters) or 0) or None,
             "cloud_vpn_name": _value_of(detail, ies.ParameterRole.CONNECTION_NAME, parameters) or ""}
    return operation_start(tenant=tenant, kind=OperationKind.CREATE, requested_by=user, request=request, order=order,
                           service_name=name, definition_id=detail.id, after=after)


def _value_of(detail: ies.ServiceDefinitionDetail, role: ies.ParameterRole, parameters: dict[str, str]) -> str | None:
    """The ordered value of the definition's field that plays ``role``."""
    spec = detail.field_with_role(role)
    return parameters.get(spec.name) if spec is not None else None

"""Rows as the API shows them (the schemas' shapes)."""

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Schema

from portal.api.schemas import OperationOut, PolicyOut, ServiceOut
from portal.operations.models import Operation
from portal.operations.presenters import operation_fields
from portal.policies.models import BandwidthPolicy, Occurrence, PolicyKind
from portal.policies.presenters import rules_text
from portal.services.models import Service

# The columns a service is shown from, read as values by the list: 50 rows as model instances cost
# more than the query.
SERVICE_COLUMNS = ("pk", "ies_service_id", "name", "description", "kind", "cloud_vpn_name", "bandwidth_kbps",
                   "status", "active_status", "service_definition_id", "parameters", "ies_created_at",
                   "last_changed_at", "last_synced_at", "gone_at")


def service_row(row: dict[str, Any], *, in_flight: int | None = None) -> dict[str, Any]:
    """A row of ``Service.objects.values(*SERVICE_COLUMNS)`` in ServiceOut's shape."""
    return {"id": row["ies_service_id"], "name": row["name"], "description": row["description"], "kind": row["kind"],
            "connection_name": row["cloud_vpn_name"], "bandwidth_kbps": row["bandwidth_kbps"], "status": row["status"],
            "active_status": row["active_status"], "definition_id": row["service_definition_id"],
            "parameters": row["parameters"] or {}, "created_at": row["ies_created_at"],
            "last_changed_at": row["last_changed_at"], "synced_at": row["last_synced_at"],
            "deleted_at": row["gone_at"], "operation_in_flight": in_flight}


def service_out(service: Service, *, in_flight: int | None = None) -> ServiceOut:
    row = {column: getattr(service, column) for column in SERVICE_COLUMNS}
    return ServiceOut(**service_row(row, in_flight=in_flight))


def operation_out(op: Operation) -> OperationOut:
    return OperationOut(**operation_fields(op))


def next_page_url(request: HttpRequest, *, offset: int, limit: int, count: int) -> str | None:
    """The address of the page after this one (the same query, the next offset), None on the last."""
    following = offset + limit
    if following >= count:
        return None
    query = request.GET.copy()
    query["offset"] = str(following)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


def policy_out(policy: BandwidthPolicy, service_id: str, next_change: Occurrence | None) -> PolicyOut:
    return PolicyOut(
        id=policy.pk, service_id=service_id, kind=policy.kind, state=policy.state, name=policy.name,
        rules=rules_text(policy) if policy.kind == PolicyKind.AUTOSCALE else str(policy), spec=policy.spec or {}, needs_attention=policy.needs_attention, note=policy.note,
        created_at=policy.created_at, next_change_at=next_change.due_at if next_change else None,
        next_change_kbps=next_change.kbps if next_change else None,
    )


def json_data(data: Any, *, status: int = 200, location: str = "") -> HttpResponse:
    """JSON as ninja's own renderer writes it (DjangoJSONEncoder: times in ISO 8601 to the millisecond)."""
    response = HttpResponse(json.dumps(data, cls=DjangoJSONEncoder), status=status, content_type="application/json")
    if location:
        response["Location"] = location
    return response


def json_response(payload: Schema, *, status: int = 200, location: str = "") -> HttpResponse:
    return json_data(payload.model_dump(by_alias=True), status=status, location=location)


def operation_accepted(request: HttpRequest, op: Operation) -> HttpResponse:
    """202: the operation runs at IES; its address is in Location."""
    return json_response(operation_out(op), status=202, location=operation_url(request, op.pk))


def operation_url(request: HttpRequest, pk: int) -> str:
    return request.build_absolute_uri(reverse("api:operation_get", args=[pk]))

"""Rows as the API shows them (the schemas' shapes)."""

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Schema

from portal.api.schemas import OperationOut, PolicyOut, ServiceOut
from portal.operations.models import IN_FLIGHT_STATES, Operation
from portal.policies.models import BandwidthPolicy, Occurrence, PolicyKind
from portal.policies.presenters import rules_text
from portal.services.models import Service


def service_out(service: Service, *, in_flight: int | None = None) -> ServiceOut:
    return ServiceOut(
        id=service.ies_service_id, name=service.name, description=service.description, kind=service.kind,
        connection_name=service.cloud_vpn_name, bandwidth_kbps=service.bandwidth_kbps, status=service.status,
        active_status=service.active_status, definition_id=service.service_definition_id,
        parameters=service.parameters or {}, created_at=service.ies_created_at, last_changed_at=service.last_changed_at,
        synced_at=service.last_synced_at, deleted_at=service.gone_at, operation_in_flight=in_flight,
    )


def service_row(row: dict[str, Any], *, in_flight: int | None = None) -> dict[str, Any]:
    """A row of ``Service.objects.values(*LIST_COLUMNS)`` in ServiceOut's shape."""
    return {"id": row["ies_service_id"], "name": row["name"], "description": row["description"], "kind": row["kind"],
            "connection_name": row["cloud_vpn_name"], "bandwidth_kbps": row["bandwidth_kbps"], "status": row["status"],
            "active_status": row["active_status"], "definition_id": row["service_definition_id"],
            "parameters": row["parameters"] or {}, "created_at": row["ies_created_at"],
            "last_changed_at": row["last_changed_at"], "synced_at": row["last_synced_at"],
            "deleted_at": row["gone_at"], "operation_in_flight": in_flight}


def operation_out(op: Operation) -> OperationOut:
    return OperationOut(
        id=op.pk, kind=op.kind, state=op.state, done=op.state not in IN_FLIGHT_STATES, service_id=op.ies_service_id,
        service_name=op.service_name, before=op.before, after=op.after, message=op.message,
        requested_by=op.actor_name or (op.requested_by.get_username() if op.requested_by_id and op.requested_by else ""),
        created_at=op.created_at, submitted_at=op.submitted_at, finished_at=op.finished_at,
        expected_seconds=op.expected_seconds,
    )


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

"""The OpenAPI 3.0 document served at ``GET /rest/openapi.json``.

Built from the same catalog field specs and constants that validation and traffic use, so the
document cannot drift from behaviour. It documents the quirks too: 404 answers with an empty body
(no content), 500 state conflicts with an IES error body on the calls that can meet them.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from . import catalog, load, traffic_model
from .catalog import FieldSpec, ServiceDefinition
from .operations import BASE_SECONDS
from .validation import ONFAILURE_CHOICES

ID_PATTERN = r"^[A-Za-z0-9_-]{22}$"
STATUSES = ["CreateInProgress", "UpdateInProgress", "DeleteInProgress", "ActivateInProgress",
            "DeactivateInProgress", "Completed", "Activate", "Deactivate", "Failed", "CreateFailed", "Deleted"]
ACTIVE_STATUSES = ["Active", "Deactive", "ActivateInProgress", "DeactivateInProgress"]

DESCRIPTION = f"""\
The Huawei CloudOpera IES northbound API as simulated for the CloudVPN portal. Paths, headers,
bodies and quirks follow what is known of IES (the vendor's slide deck and OPEN-O's service
manager); where those are silent, this document is the simulator's decision (see
docs/ies-simulator.md).

Every call except this document and `/_sim/*` needs `X-Auth-Token` (the tenant's token) and
`Authorization: Bearer <uuid>` (the tenant's bearer); `X-Tenant-Id`, when sent, must match.

Quirks: an unknown service and a tenant without services answer **404 with an empty body**; the
catalog list is wrapped as `{{"data": [...]}}`; an unknown operation id of a known service answers
200 with `"operation": null`; state conflicts answer **500** with an IES error body
(`servicemgr.service.status_inprogress`, `servicemgr.service.create_failed`).

Operations take (at time scale 1, ±10 %): {", ".join(f"{k} {v} s" for k, v in BASE_SECONDS.items())};
the simulator's `--time-scale N` divides these by N.
"""


# The deck's create body (scenario 1), as the example of a create.
CREATE_EXAMPLE = {
    "onfailure": "rollback",
    "service": {
        "name": "site2dc4_201705071158", "description": "",
        "service_definition_id": "8c34e27ed6644bbfbce93a41a05cb7ab",
        "template_id": "e77fc5e21e1e42c9933ec9574c33a5d8",
        "parameters": {"Site2DCList": [{
            "VPC_ID": "db79cd8b-91e2-43f8-9791-54b8b2181a70", "CloudVpnName": "0S2DC4201705071158",
            "VNI": "2236", "CPE_A_Site": "siteDC201705071132", "CPE_A_Type": "AR169FGW-L",
            "CPE_A_ESN": "21500102003GG3000704", "CPE_A_Position": "siteDC201705071132",
            "CPE_A_POP": "Manager_VPC", "Bandwidth": "60000", "cidr": "163.113.12.1",
            "cidrBlockSize": "24", "action": "create"}]},
    },
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _field_schema(spec: FieldSpec) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "description": spec.help}
    if spec.type == "integer":
        schema["pattern"] = r"^(0|[1-9][0-9]*)$"
        schema["description"] += f" (an integer from {spec.min} to {spec.max}" + (
            f" in steps of {spec.step}" if spec.step else "") + (f", {spec.unit}" if spec.unit else "") + ")"
    elif spec.type == "ipv4":
        schema["format"] = "ipv4"
    elif spec.type == "uuid":
        schema["format"] = "uuid"
    elif spec.type == "enum":
        schema["enum"] = list(spec.choices or ())
    else:
        if spec.pattern:
            schema["pattern"] = spec.pattern
        if spec.min_length is not None:
            schema["minLength"] = spec.min_length
        if spec.max_length is not None:
            schema["maxLength"] = spec.max_length
    return schema


def _entry_schema(definition: ServiceDefinition, action: str, *, for_modify: bool = False) -> dict[str, Any]:
    properties = {spec.name: _field_schema(spec) for spec in definition.fields}
    properties["action"] = {"type": "string", "enum": [action]}
    required = ["CloudVpnName"] if for_modify else [s.name for s in definition.fields if s.required]
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def _list_wrapper(definition: ServiceDefinition, entry: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {definition.list_key: {"type": "array", "minItems": 1, "maxItems": 20, "items": _ref(entry)}},
        "required": [definition.list_key],
        "additionalProperties": False,
    }


def _json(schema: dict[str, Any], description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


LOCATION = {
    "Location": {
        "description": "The operation: /rest/servicemanager/v1/services/{service_id}/operations/{operation_id}",
        "required": True,
        "schema": {"type": "string"},
    }
}


def _schemas() -> dict[str, Any]:
    s2dc, s2s = catalog.SITE2DC, catalog.SITE2SITE
    string_array = {"type": "array", "items": {"type": "string"}}
    name = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"}
    nullable_int = {"type": "integer", "nullable": True}
    return {
        "Error": {
            "type": "object",
            "description": "IES error body: the arrays run in parallel, one entry per bad field.",
            "required": ["exceptionId", "exceptionType", "descArgs", "reasonArgs", "detailArgs", "adviceArgs"],
            "properties": {
                "exceptionId": {"type": "string", "example": "servicemgr.service.parameter.validate_error"},
                "exceptionType": {"type": "string"},
                "descArgs": {**string_array, "description": "the fields"},
                "reasonArgs": {**string_array, "description": "why each is wrong"},
                "detailArgs": {**string_array, "description": "the values received"},
                "adviceArgs": {**string_array, "description": "what to do"},
            },
        },
        "Template": {
            "type": "object",
            "required": ["id", "name", "url"],
            "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "url": {"type": "string"}},
        },
        "ServiceDefinition": {
            "type": "object",
            "required": ["serviceDefId", "name", "description", "serviceType", "domain", "status", "version",
                         "templates"],
            "properties": {
                "serviceDefId": {"type": "string"},
                "name": {"type": "string"},
                "description": {"type": "string"},
                "serviceType": {"type": "string"},
                "domain": {"type": "string", "enum": ["Site2DC", "Site2Site"]},
                "status": {"type": "string", "enum": ["active", "inactive", "delete pending"]},
                "version": {"type": "string"},
                "templates": {"type": "array", "items": _ref("Template")},
            },
        },
        "TemplateField": {
            "type": "object",
            "required": ["name", "type", "required", "default", "help", "unit", "constraints"],
            "properties": {
                "name": {"type": "string"},
                "type": {"type": "string", "enum": ["string", "integer", "ipv4", "uuid", "enum"]},
                "required": {"type": "boolean"},
                "default": {"type": "string", "nullable": True},
                "help": {"type": "string"},
                "unit": {"type": "string", "nullable": True},
                "constraints": {
                    "type": "object",
                    "properties": {
                        "min": {"type": "integer"}, "max": {"type": "integer"}, "step": {"type": "integer"},
                        "pattern": {"type": "string"}, "minLength": {"type": "integer"},
                        "maxLength": {"type": "integer"}, "choices": string_array,
                    },
                },
            },
        },
        "ServiceDefinitionDetail": {
            "allOf": [_ref("ServiceDefinition")],
            "type": "object",
            "required": ["servicedefId", "template_id", "parameterListKey", "parameters"],
            "properties": {
                "servicedefId": {"type": "string", "description": "serviceDefId again, as the deck spells it"},
                "template_id": {"type": "string"},
                "parameterListKey": {"type": "string", "enum": ["Site2DCList", "Site2SiteList"]},
                "parameters": {"type": "array", "items": _ref("TemplateField")},
            },
        },
        "Site2DCEntry": _entry_schema(s2dc, "create"),
        "Site2SiteEntry": _entry_schema(s2s, "create"),
        "Site2DCChange": _entry_schema(s2dc, "modify", for_modify=True),
        "Site2SiteChange": _entry_schema(s2s, "modify", for_modify=True),
        "CreateRequest": {
            "type": "object",
            "example": CREATE_EXAMPLE,
            "required": ["service"],
            "additionalProperties": False,
            "properties": {
                "onfailure": {"type": "string", "enum": list(ONFAILURE_CHOICES),
                              "description": "rollback: a failed create removes what it made"},
                "service": {
                    "type": "object",
                    "required": ["name", "service_definition_id", "template_id", "parameters"],
                    "additionalProperties": False,
                    "properties": {
                        "name": name,
                        "description": {"type": "string", "maxLength": 255},
                        "service_definition_id": {"type": "string", "minLength": 1, "maxLength": 36},
                        "template_id": {"type": "string", "minLength": 1, "maxLength": 36},
                        "parameters": {"oneOf": [_list_wrapper(s2dc, "Site2DCEntry"),
                                                 _list_wrapper(s2s, "Site2SiteEntry")]},
                    },
                },
            },
        },
        "ModifyRequest": {
            "type": "object",
            "example": {"service": {"parameters": {"Site2DCList": [
                {"CloudVpnName": "0S2DC201705071132", "Bandwidth": "80000", "action": "modify"}]}}},
            "required": ["service"],
            "additionalProperties": False,
            "description": "Only what changes; the simulator merges it into the service and validates the result."
                           " CloudVpnName names the connection to change and cannot itself be changed.",
            "properties": {
                "onfailure": {"type": "string", "enum": list(ONFAILURE_CHOICES)},
                "service": {
                    "type": "object",
                    "minProperties": 1,
                    "additionalProperties": False,
                    "properties": {
                        "name": name,
                        "description": {"type": "string", "maxLength": 255},
                        "service_definition_id": {"type": "string", "maxLength": 36},
                        "template_id": {"type": "string", "maxLength": 36},
                        "parameters": {"oneOf": [_list_wrapper(s2dc, "Site2DCChange"),
                                                 _list_wrapper(s2s, "Site2SiteChange")]},
                    },
                },
            },
        },
        "CreateAccepted": {
            "type": "object",
            "required": ["service"],
            "properties": {"service": {
                "type": "object",
                "required": ["service_id", "operation_id"],
                "properties": {"service_id": {"type": "string", "pattern": ID_PATTERN},
                               "operation_id": {"type": "string", "pattern": ID_PATTERN}},
            }},
        },
        "OperationAccepted": {
            "type": "object",
            "required": ["operation_id"],
            "properties": {"operation_id": {"type": "string", "pattern": ID_PATTERN}},
        },
        "ServiceSummary": {
            "type": "object",
            "required": ["service_id", "service_definition_id", "template_id", "name", "description",
                         "service_type", "created_at", "status", "active_status"],
            "properties": {
                "service_id": {"type": "string", "pattern": ID_PATTERN},
                "service_definition_id": {"type": "string"},
                "template_id": {"type": "string"},
                "name": {"type": "string"},
                "description": {"type": "string"},
                "service_type": {"type": "string", "enum": ["Site2DC", "Site2Site"]},
                "created_at": {"type": "integer", "description": "epoch milliseconds"},
                "status": {"type": "string", "enum": STATUSES},
                "active_status": {"type": "string", "enum": ACTIVE_STATUSES},
            },
        },
        "Service": {
            "allOf": [_ref("ServiceSummary")],
            "type": "object",
            "required": ["updated_at", "service_name", "CloudVpnName", "Bandwidth", "parameters"],
            "properties": {
                "updated_at": {"type": "integer", "description": "epoch milliseconds"},
                "service_name": {"type": "string", "description": "= name (the deck reads it off the detail)"},
                "CloudVpnName": {"type": "string", "nullable": True,
                                 "description": "of the first connection, flattened for the deck's readers"},
                "Bandwidth": {"type": "string", "nullable": True, "description": "kbit/s of the first connection"},
                "parameters": {"type": "object", "description": "as sent: {Site2DCList: [...]} or"
                                                                " {Site2SiteList: [...]}, without action"},
            },
        },
        "Operation": {
            "type": "object",
            "nullable": True,
            "required": ["operation_id", "operation", "service_id", "user_id", "operation_content", "progress",
                         "result", "reason", "operate_at", "finished_at"],
            "properties": {
                "operation_id": {"type": "string", "pattern": ID_PATTERN},
                "operation": {"type": "string", "enum": ["Create", "Update", "Delete", "Activate", "Deactivate"]},
                "service_id": {"type": "string"},
                "user_id": {"type": "string"},
                "operation_content": {"type": "string"},
                "progress": {"type": "string", "enum": ["inprogress", "done"]},
                "result": {"type": "string", "enum": ["success", "failed", None], "nullable": True},
                "reason": {"type": "string", "nullable": True},
                "operate_at": {"type": "integer", "description": "epoch milliseconds"},
                "finished_at": {**nullable_int, "description": "epoch milliseconds; null while running"},
            },
        },
        "TrafficAnswer": {
            "type": "object",
            "required": ["connection", "metric", "unit", "direction", "timedim", "indicator", "interval",
                         "starttime", "endtime", "points"],
            "properties": {
                "connection": {"type": "string"},
                "metric": {"type": "string", "enum": list(traffic_model.UNITS)},
                "unit": {"type": "string", "enum": list(traffic_model.UNITS.values())},
                "direction": {"type": "string", "enum": list(traffic_model.DIRECTIONS)},
                "timedim": {"type": "string", "enum": list(traffic_model.INTERVALS)},
                "indicator": {"type": "string", "enum": list(traffic_model.INDICATORS)},
                "interval": {"type": "integer", "enum": list(traffic_model.INTERVALS.values())},
                "starttime": {"type": "integer"},
                "endtime": {"type": "integer"},
                "points": {
                    "type": "array",
                    "description": "[bucket start (Unix seconds, UTC-aligned), value]; none before the connection"
                                   " was created or after it was deleted",
                    "items": {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "number"}},
                },
            },
        },
        "Tenant": {
            "type": "object",
            "required": ["name", "token", "bearer", "tenant_id"],
            "properties": {"name": {"type": "string"}, "token": {"type": "string"}, "bearer": {"type": "string"},
                           "tenant_id": {"type": "string"}},
        },
        "FaultRule": {
            "type": "object",
            "required": ["kind"],
            "properties": {
                "kind": {"type": "string", "enum": ["latency", "error", "hang", "drop", "fail_operations",
                                                    "expire_token", "no_operations_endpoint"]},
                "prefix": {"type": "string", "default": "/rest"},
                "methods": {"type": "array", "items": {"type": "string"}},
                "count": {"type": "integer", "minimum": 1},
                "rate": {"type": "number", "minimum": 0, "maximum": 1},
                "ms": {"type": "integer", "minimum": 0},
                "status": {"type": "integer", "minimum": 400, "maximum": 599},
                "exceptionId": {"type": "string"},
                "seconds": {"type": "number", "minimum": 0},
                "reason": {"type": "string"},
                "tenant": {"type": "string"},
            },
        },
        "TrafficLoad": {
            "type": "object",
            "description": "A connection's demand over [from, until): the average rate of its minutes is"
                           " min(rate_bps, bandwidth) or utilisation × bandwidth (±2 % noise, never above the"
                           " bandwidth); later rules win where spans overlap. Exactly one of rate_bps and"
                           " utilisation.",
            "required": ["tenant", "connection", "from"],
            "additionalProperties": False,
            "properties": {
                "tenant": {"type": "string", "minLength": 1, "description": "the IES tenant's name"},
                "connection": {"type": "string", "minLength": 1, "description": "the CloudVpnName"},
                "direction": {"type": "string", "enum": list(load.LOAD_DIRECTIONS), "default": "both"},
                "rate_bps": {"type": "number", "minimum": 0, "maximum": load.MAX_RATE_BPS, "nullable": True,
                             "description": "bit/s, whatever the bandwidth (a raise lowers the utilisation)"},
                "utilisation": {"type": "number", "minimum": 0, "maximum": 1, "nullable": True,
                                "description": "a share of the bandwidth in force"},
                "from": {"type": "integer", "minimum": 0, "maximum": traffic_model.TIME_MAX,
                         "description": "Unix seconds; minutes starting at or after it"},
                "until": {"type": "integer", "minimum": 0, "maximum": traffic_model.TIME_MAX, "nullable": True,
                          "description": "Unix seconds, after from; minutes starting before it; null: no end"},
            },
        },
        "TrafficLoadRule": {
            "allOf": [_ref("TrafficLoad"), {
                "type": "object", "required": ["id", "direction", "rate_bps", "utilisation", "until"],
                "properties": {"id": {"type": "string"}}}],
        },
    }


def _path_id(name: str, description: str, example: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string", "pattern": ID_PATTERN}, "example": example}


TENANT_HEADER = {
    "name": "X-Tenant-Id", "in": "header", "required": False,
    "description": "Optional: the tenant id; must match the token's tenant", "schema": {"type": "string"},
}


def _common(*codes: str) -> dict[str, Any]:
    known = {
        "400": {"$ref": "#/components/responses/BadRequest"},
        "401": {"$ref": "#/components/responses/Unauthorized"},
        "404": {"$ref": "#/components/responses/NotFoundEmpty"},
        "500": {"$ref": "#/components/responses/Conflict"},
    }
    return {code: known[code] for code in codes}


def _op(summary: str, responses: dict[str, Any], *, parameters: list[Any] | None = None,
        body: str | None = None, tags: list[str] | None = None, security: list[Any] | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "tags": tags or ["servicemanager"],
                                 "parameters": [*(parameters or []), TENANT_HEADER], "responses": responses}
    if body:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(body)}}}
    if security is not None:
        operation["security"] = security
        operation["parameters"] = list(parameters or [])
    return operation


def _paths() -> dict[str, Any]:
    # Examples are preset data (nbitest_12's service), so that example requests meet a real service.
    sid = _path_id("service_id", "22-character URL-safe base64 id", "9LbuAd11Qe-cuGnVONz6qw")
    # Any string: an operation id the service does not know (however it looks) answers operation: null.
    oid = {"name": "operation_id", "in": "path", "required": True, "schema": {"type": "string"},
           "description": "22-character URL-safe base64 id", "example": "W0x8h0IBQq6GJKmys5i74Q"}
    accepted = _json(_ref("OperationAccepted"), "Accepted: the operation runs; follow Location", LOCATION)
    sim_security: list[Any] = [{}, {"SimKey": []}]
    sim_tag = ["_sim"]
    forbidden = {"403": _json(_ref("Error"), "Not from loopback and no valid X-Sim-Key")}
    traffic_params = [
        {"name": "CloudVpnName", "in": "path", "required": True, "description": "the connection",
         "schema": {"type": "string"}, "example": "0S2DC201705071132"},
        {"name": "metric", "in": "path", "required": True,
         "description": "traffic-rate (bit/s) or bandwidth-utilization (%)",
         "schema": {"type": "string", "enum": list(traffic_model.UNITS)}},
        {"name": "starttime", "in": "query", "required": True, "description": "Unix seconds",
         "schema": {"type": "integer", "minimum": 0, "maximum": traffic_model.TIME_MAX}, "example": 1494000000},
        {"name": "endtime", "in": "query", "required": True,
         "description": f"Unix seconds, after starttime; at most {traffic_model.MAX_BUCKETS} buckets",
         "schema": {"type": "integer", "minimum": 0, "maximum": traffic_model.TIME_MAX}, "example": 1494086400},
        {"name": "timedim", "in": "query", "required": True, "schema": {"type": "string", "enum": list(traffic_model.INTERVALS)}},
        {"name": "direction", "in": "query", "required": True,
         "schema": {"type": "string", "enum": list(traffic_model.DIRECTIONS)}},
        {"name": "indicator", "in": "query", "required": True,
         "schema": {"type": "string", "enum": list(traffic_model.INDICATORS)}},
    ]
    definition_id = {"name": "servicedefId", "in": "path", "required": True, "schema": {"type": "string"},
                     "example": catalog.SITE2DC.id}
    definition_detail = _op(
        "One service definition with its template's parameter schema",
        {"200": _json(_ref("ServiceDefinitionDetail"), "The definition"), **_common("401"),
         "404": _json(_ref("Error"), "No such definition (servicemgr.template.not_exist)")},
        parameters=[definition_id], tags=["catalog"])
    return {
        "/openapi.json": {"get": {"summary": "This document", "tags": ["meta"], "security": [],
                                  "responses": {"200": _json({"type": "object"}, "OpenAPI 3 document")}}},
        "/catalog/v1/servicedefs": {"get": _op(
            "Service definitions this tenant may order",
            {"200": _json({"type": "object", "required": ["data"],
                           "properties": {"data": {"type": "array", "items": _ref("ServiceDefinition")}}},
                          "Wrapped as {data: [...]}"), **_common("401")}, tags=["catalog"])},
        "/catalog/v1/servicedefs/{servicedefId}/details": {"get": definition_detail},
        "/catalog/v1/servicedefs/{servicedefId}/detail": {"get": {**definition_detail,
                                                                 "summary": "Same as /details (OPEN-O's spelling)"}},
        "/servicemanager/v1/services": {
            "get": _op("This tenant's services",
                       {"200": _json({"type": "object", "required": ["services"], "properties": {
                           "services": {"type": "array", "minItems": 1, "items": _ref("ServiceSummary")}}},
                           "The services"),
                        **_common("401"),
                        "404": {"description": "The tenant has no services (empty body: IES's quirk)"}}),
            "post": _op("Create (and activate) a service",
                        {"202": _json(_ref("CreateAccepted"), "Accepted: the Create operation runs", LOCATION),
                         **_common("400", "401")}, body="CreateRequest"),
        },
        "/servicemanager/v1/services/{service_id}": {
            "get": _op("One service", {"200": _json({"type": "object", "required": ["service"],
                                                     "properties": {"service": _ref("Service")}}, "The service"),
                                       **_common("401", "404")}, parameters=[sid]),
            "put": _op("Modify a service (e.g. its bandwidth)",
                       {"202": accepted, **_common("400", "401", "404", "500")}, parameters=[sid],
                       body="ModifyRequest"),
            "delete": _op("Delete a service",
                          {"202": accepted,
                           "200": _json(_ref("OperationAccepted"), "A CreateFailed service: deleted at once",
                                        LOCATION),
                           **_common("401", "404", "500")}, parameters=[sid]),
        },
        "/servicemanager/v1/services/{service_id}/operations": {"get": _op(
            "The service's operations log",
            {"200": _json({"type": "object", "required": ["operations"],
                           "properties": {"operations": {"type": "array", "items": _ref("Operation")}}},
                          "Oldest first"), **_common("401", "404")}, parameters=[sid], tags=["operations"])},
        "/servicemanager/v1/services/{service_id}/operations/{operation_id}": {"get": _op(
            "One operation (also of a deleted service); an unknown id answers operation: null",
            {"200": _json({"type": "object", "required": ["operation"], "properties": {"operation": _ref("Operation")}},
                          "The operation, or null"), **_common("401", "404")},
            parameters=[sid, oid], tags=["operations"])},
        "/servicemanager/v1/services/{service_id}/activation": {"post": _op(
            "Activate a service", {"202": accepted, **_common("401", "404", "500")}, parameters=[sid])},
        "/servicemanager/v1/services/{service_id}/deactivation": {"post": _op(
            "Deactivate a service", {"202": accepted, **_common("401", "404", "500")}, parameters=[sid])},
        "/cloudvpnwatch/v1/traffic/connections/{CloudVpnName}/{metric}": {"get": _op(
            "Traffic of one connection, one point per bucket",
            {"200": _json(_ref("TrafficAnswer"), "The series (an empty points list is a valid answer)"),
             "400": _json(_ref("Error"), "A parameter makes no sense (cloudvpnwatch.bad_param)"),
             **_common("401"), "404": {"description": "No such connection for this tenant (empty body)"}},
            parameters=traffic_params, tags=["cloudvpnwatch"])},
        "/_sim/tenants": {
            "get": _op("Simulator only: every tenant with its token",
                       {"200": _json({"type": "object", "required": ["tenants"], "properties": {
                           "tenants": {"type": "array", "items": _ref("Tenant")}}}, "Tenants"), **forbidden},
                       tags=sim_tag, security=sim_security),
            "post": {**_op("Simulator only: a new empty tenant (idempotent by name)",
                           {"201": _json(_ref("Tenant"), "The tenant"), **_common("400"), **forbidden},
                           tags=sim_tag, security=sim_security),
                     "requestBody": {"required": True, "content": {"application/json": {"schema": {
                         "type": "object", "required": ["name"],
                         "properties": {"name": {"type": "string", "pattern": r"^[A-Za-z0-9_.-]{1,64}$"}}}}}}},
        },
        "/_sim/services/bulk": {"post": {
            **_op("Simulator only: completed, active services at once",
                  {"201": _json({"type": "object", "properties": {"created": {"type": "integer"}}}, "Created"),
                   **_common("400"), **forbidden}, tags=sim_tag, security=sim_security),
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["tenant", "count"],
                "properties": {"tenant": {"type": "string"}, "count": {"type": "integer", "minimum": 1,
                                                                       "maximum": 10000},
                               "kind": {"type": "string", "enum": ["Site2DC", "Site2Site"]}}}}}}}},
        "/_sim/faults": {
            "get": _op("Simulator only: active fault rules",
                       {"200": _json({"type": "object"}, "Rules"), **forbidden}, tags=sim_tag, security=sim_security),
            "post": {**_op("Simulator only: add a fault rule",
                           {"201": _json({"type": "object", "required": ["id"],
                                          "properties": {"id": {"type": "string"}}}, "Added"),
                            **_common("400"), **forbidden}, tags=sim_tag, security=sim_security),
                     "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("FaultRule")}}}},
            "delete": _op("Simulator only: remove every rule", {"200": _json({"type": "object"}, "Cleared"),
                                                                **forbidden}, tags=sim_tag, security=sim_security),
        },
        "/_sim/faults/{id}": {"delete": _op(
            "Simulator only: remove one rule",
            {"200": _json({"type": "object"}, "Removed"), "404": {"description": "No such rule"}, **forbidden},
            parameters=[{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            tags=sim_tag, security=sim_security)},
        "/_sim/traffic/load": {
            "get": _op("Simulator only: the traffic load rules, oldest first",
                       {"200": _json({"type": "object", "required": ["rules"], "properties": {
                           "rules": {"type": "array", "items": _ref("TrafficLoadRule")}}}, "Rules"), **forbidden},
                       tags=sim_tag, security=sim_security),
            "post": {**_op("Simulator only: set a connection's demand over a time span (past minutes too)",
                           {"201": _json({"type": "object", "required": ["id", "rule"], "properties": {
                               "id": {"type": "string"}, "rule": _ref("TrafficLoadRule")}}, "Added"),
                            **_common("400"), **forbidden}, tags=sim_tag, security=sim_security),
                     "requestBody": {"required": True,
                                     "content": {"application/json": {"schema": _ref("TrafficLoad")}}}},
            "delete": _op("Simulator only: remove every load rule",
                          {"200": _json({"type": "object"}, "Cleared"), **forbidden},
                          tags=sim_tag, security=sim_security),
        },
        "/_sim/traffic/load/{id}": {"delete": _op(
            "Simulator only: remove one load rule",
            {"200": _json({"type": "object"}, "Removed"), "404": {"description": "No such rule"}, **forbidden},
            parameters=[{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            tags=sim_tag, security=sim_security)},
    }


def document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Huawei CloudOpera IES API (simulator)", "version": "1.0", "description": DESCRIPTION},
        "servers": [{"url": "/rest"}],
        "security": [{"XAuthToken": [], "Bearer": []}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {
                "XAuthToken": {"type": "apiKey", "in": "header", "name": "X-Auth-Token",
                               "description": "The tenant's token (MIIE…)"},
                "Bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "uuid",
                           "description": "The tenant's bearer uuid"},
                "SimKey": {"type": "apiKey", "in": "header", "name": "X-Sim-Key",
                           "description": "IES_SIM_ADMIN_KEY, for /_sim calls from other hosts"},
            },
            "schemas": _schemas(),
            "responses": {
                "BadRequest": _json(_ref("Error"), "A bad field or body (servicemgr.bad_param,"
                                                   " servicemgr.service.parameter.validate_error, …)"),
                "Unauthorized": _json(_ref("Error"), "Missing, unknown or expired token, or a wrong bearer"
                                                     " (servicemgr.permission_denied)"),
                "NotFoundEmpty": {"description": "No such service for this tenant: empty body (IES's quirk)"},
                "Conflict": _json(_ref("Error"), "State conflict (servicemgr.service.status_inprogress,"
                                                 " servicemgr.service.create_failed): 500, as OPEN-O sends it"),
            },
        },
    }


@cache
def document_bytes() -> bytes:
    return json.dumps(document(), separators=(",", ":")).encode()

"""The IES wire format, both ways, and every quirk of it: the only module that spells IES's names.

Reading is tolerant because a real IES may differ from OPEN-O and from the simulator in detail:
ids spelled ``serviceDefId`` or ``servicedefId``, lists wrapped in ``{"data": [...]}`` or not, a
service's connection values nested (``parameters.Site2DCList[0].Bandwidth``) or flat (``Bandwidth``,
``CloudVpnName``, ``service_name``), epoch milliseconds or seconds. What cannot be read at all raises
:class:`~ies_client.errors.IESProtocolError`: an answer with no id is nonsense, not "nothing".

The quirks of *statuses* (a 404 with an empty body means "no services" on a list) live in
:mod:`ies_client.client`, next to the calls they belong to; turning an error answer into an
exception lives here (:func:`error_for`), because it reads IES's error body.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from ies_client import known_fields
from ies_client.errors import (
    IESAuthError,
    IESConflict,
    IESError,
    IESNotFound,
    IESProtocolError,
    IESServerError,
    IESUnavailable,
    IESValidationError,
)
from ies_client.models import (
    ActiveStatus,
    DefinitionStatus,
    Direction,
    Metric,
    Operation,
    OperationKind,
    OperationProgress,
    OperationRef,
    OperationResult,
    ParameterField,
    Service,
    ServiceDefinition,
    ServiceDefinitionDetail,
    ServiceKind,
    ServiceStatus,
    TrafficSeries,
)

__all__ = [
    "build_activation_path",
    "build_create_body",
    "build_modify_body",
    "epoch_seconds",
    "error_for",
    "parse_definition_detail",
    "parse_definitions",
    "parse_operation",
    "parse_operation_ref",
    "parse_operations",
    "parse_service",
    "parse_service_detail",
    "parse_services",
    "parse_traffic",
]

Json = Any  # what json.loads returns

# ---------------------------------------------------------------------------------------------
# small readers


def _first(d: Mapping[str, Any], *keys: str) -> Any:
    """The value of the first key present with a non-None value, else None."""
    for k in keys:
        v = d.get(k)
        if v is not None:
            return v
    return None


def _text(v: Any) -> str:
    """A wire value as text: IES sends every parameter value as a string, but be lenient."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
    return json.dumps(v, separators=(",", ":"), sort_keys=True)


def _int_or_none(v: Any) -> int | None:
    """``"60000"``, ``60000`` or ``"60000.0"`` → 60000; anything unreadable → None."""
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(str(v).strip())
    except ValueError:
        return None
    if f != f or f in (float("inf"), float("-inf")):
        return None
    return int(f)


def _number_or_none(v: Any) -> int | float | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(str(v).strip())
    except ValueError:
        return None
    if not math.isfinite(f):
        # "NaN", "Infinity", "1e400": no bound or figure a page could show or compare with.
        return None
    return int(f) if f.is_integer() else f


def _bool(v: Any, default: bool = False) -> bool:
    if v is None:
        return default
    if isinstance(v, str):
        return v.strip().lower() in ("true", "1", "yes", "y")
    return bool(v)


# Epoch values above this are milliseconds (1e11 s is the year 5138; 1e11 ms is 1973).
_MS_THRESHOLD = 100_000_000_000


def _datetime_or_none(v: Any) -> datetime | None:
    """IES times are epoch milliseconds; accept seconds and ISO 8601 too. Always aware UTC."""
    if v is None or v == "" or isinstance(v, bool):
        return None
    if isinstance(v, str):
        s = v.strip()
        if not re.fullmatch(r"-?\d+(\.\d+)?", s):
            try:
                dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
            except ValueError:
                return None
            return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
        v = float(s)
    if not isinstance(v, int | float):
        return None
    seconds = v / 1000 if abs(v) >= _MS_THRESHOLD else v
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def epoch_seconds(v: datetime | int) -> int:
    """A traffic window bound as IES wants it: integer Unix seconds. Naive datetimes are refused
    because guessing their zone shifts a chart by hours without anyone noticing."""
    if isinstance(v, bool):
        raise TypeError("expected an aware datetime or epoch seconds, got a bool")
    if isinstance(v, datetime):
        if v.tzinfo is None or v.utcoffset() is None:
            raise ValueError("naive datetime: give an aware datetime (e.g. tzinfo=UTC) or epoch seconds")
        return int(v.timestamp())
    if isinstance(v, int):
        return v
    raise TypeError(f"expected an aware datetime or epoch seconds, got {type(v).__name__}")


def kind_from(*candidates: Any) -> ServiceKind | None:
    """The service kind from the first candidate that names one ("Site2DC", "site2site",
    "Site2DCList"…); None when none does (OPEN-O's ``serviceType`` is "CloudVPN", not a kind)."""
    return ServiceKind.parse(*candidates)


def _unwrap_list(body: Json, *keys: str, what: str) -> list[Any]:
    """Find the item list in ``body``: a bare list, or under one of ``keys`` (``data`` last)."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for k in (*keys, "data"):
            v = body.get(k)
            if isinstance(v, list):
                return v
            if isinstance(v, dict):  # {"data": {"services": [...]}}
                for k2 in (*keys, "data"):
                    if isinstance(v.get(k2), list):
                        return v[k2]
    raise IESProtocolError(f"IES sent a list of {what} in an unknown shape.")


def _unwrap_object(body: Json, *keys: str, what: str) -> dict[str, Any]:
    """Find the object in ``body``: under one of ``keys`` or ``data``, or ``body`` itself."""
    if isinstance(body, dict):
        for k in (*keys, "data"):
            v = body.get(k)
            if isinstance(v, dict):
                return v
        return body
    raise IESProtocolError(f"IES sent {what} in an unknown shape.")


def _dicts(items: Iterable[Any], what: str) -> list[dict[str, Any]]:
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise IESProtocolError(f"IES sent a {what} that is not an object.")
        out.append(item)
    return out


# ---------------------------------------------------------------------------------------------
# catalog


def _definition_id(d: Mapping[str, Any]) -> str:
    v = _first(d, "serviceDefId", "servicedefId", "service_definition_id", "serviceDefinitionId", "id")
    if not v:
        raise IESProtocolError("IES sent a service definition without an id.")
    return str(v)


def _template_ids(d: Mapping[str, Any]) -> tuple[str, ...]:
    ids: list[str] = []
    own = _first(d, "template_id", "templateId")
    if own:
        ids.append(str(own))
    templates = d.get("templates")
    if isinstance(templates, list):
        for t in templates:
            tid = _first(t, "id", "template_id", "templateId") if isinstance(t, dict) else t
            if tid and str(tid) not in ids:
                ids.append(str(tid))
    return tuple(ids)


def _definition(d: Mapping[str, Any]) -> ServiceDefinition:
    return ServiceDefinition(
        id=_definition_id(d),
        name=_text(_first(d, "name", "serviceDefName")),
        description=_text(d.get("description")),
        kind=kind_from(d.get("domain"), d.get("type"), d.get("serviceType"), d.get("parameterListKey")),
        # The catalog lists what the tenant may order: a definition without a status is active.
        status=DefinitionStatus.parse(_text(d.get("status")) or DefinitionStatus.ACTIVE),
        version=_text(d.get("version")),
        template_ids=_template_ids(d),
    )


def parse_definitions(body: Json) -> list[ServiceDefinition]:
    """``GET /catalog/v1/servicedefs`` → definitions (``{"data": [...]}`` or a bare list)."""
    items = _unwrap_list(body, "servicedefs", "serviceDefs", "servicedefinitions", what="service definitions")
    return [_definition(d) for d in _dicts(items, "service definition")]


def _field(f: Mapping[str, Any]) -> ParameterField:
    name = f.get("name")
    if not name or not isinstance(name, str):
        raise IESProtocolError("IES sent a template parameter without a name.")
    c = f.get("constraints")
    c = c if isinstance(c, dict) else f  # a flat field carries its constraints beside its name
    choices = _first(c, "choices", "enum", "values")
    if isinstance(choices, str):
        choices = [s.strip() for s in choices.split(",") if s.strip()]
    default = f.get("default")
    return ParameterField(
        name=name,
        type=_text(f.get("type")) or "string",
        required=_bool(f.get("required")),
        default=None if default is None else _text(default),
        help=_text(_first(f, "help", "description")),
        unit=_first(f, "unit") or None,
        min=_number_or_none(_first(c, "min", "minimum")),
        max=_number_or_none(_first(c, "max", "maximum")),
        step=_number_or_none(c.get("step")),
        pattern=_first(c, "pattern") or None,
        min_length=_int_or_none(_first(c, "minLength", "min_length")),
        max_length=_int_or_none(_first(c, "maxLength", "max_length")),
        choices=tuple(_text(x) for x in choices) if isinstance(choices, list) else (),
    )


def parse_definition_detail(body: Json) -> ServiceDefinitionDetail:
    """``GET /catalog/v1/servicedefs/{id}/details`` → the definition, its template and fields.

    Falls back to the built-in fields of the kind when IES sends no ``parameters`` schema.
    """
    d = _unwrap_object(body, "servicedef", "serviceDef", "servicedefinition", what="a service definition")
    definition = _definition(d)
    if not definition.template_ids:
        raise IESProtocolError("IES sent a service definition without a template.")
    raw = d.get("parameters")
    if isinstance(raw, dict):  # {"Bandwidth": {...}, ...}
        raw = [{"name": k, **v} for k, v in raw.items() if isinstance(v, dict)]
    from_ies = isinstance(raw, list) and len(raw) > 0
    fields = (
        tuple(_field(f) for f in _dicts(raw or [], "template parameter"))
        if from_ies
        else known_fields.fields_for(definition.kind)
    )
    list_key = _first(d, "parameterListKey", "parameter_list_key") or (
        definition.kind.list_key if definition.kind else None
    )
    return ServiceDefinitionDetail(
        definition=definition,
        template_id=definition.template_ids[0],
        list_key=str(list_key) if list_key else None,
        fields=fields,
        schema_from_ies=from_ies,
    )


# ---------------------------------------------------------------------------------------------
# services


def _connection_entry(parameters: Any) -> tuple[str | None, dict[str, str]]:
    """The service's connection entry and the list key it sat under.

    ``{"Site2DCList": [{...}]}`` → ("Site2DCList", {...}); a flat ``{"Bandwidth": "60000", ...}``
    → (None, {...}). Values become strings, as IES holds them.
    """
    if not isinstance(parameters, dict):
        return None, {}
    for key, value in parameters.items():
        if isinstance(value, list) and key.lower().endswith("list"):
            entry = next((e for e in value if isinstance(e, dict)), None)
            return key, ({str(k): _text(v) for k, v in entry.items()} if entry else {})
    flat = {str(k): _text(v) for k, v in parameters.items() if not isinstance(v, list | dict)}
    return None, flat


def parse_service(d: Json) -> Service:
    """One service, from a list item or a detail (nested and flat shapes)."""
    if not isinstance(d, dict):
        raise IESProtocolError("IES sent a service that is not an object.")
    service_id = _first(d, "service_id", "serviceId", "id")
    if not service_id:
        raise IESProtocolError("IES sent a service without an id.")
    list_key, entry = _connection_entry(d.get("parameters"))
    # The deck reads CloudVpnName and Bandwidth off the detail itself: when IES flattens them, the
    # flat value is the one in force, so it wins over the parameters "as sent".
    cloud_vpn_name = _first(d, "CloudVpnName", "cloudVpnName") or entry.get("CloudVpnName") or None
    bandwidth = _int_or_none(_first(d, "Bandwidth", "bandwidth"))
    if bandwidth is None:
        bandwidth = _int_or_none(entry.get("Bandwidth"))
    return Service(
        service_id=str(service_id),
        name=_text(_first(d, "name", "service_name", "serviceName")),
        description=_text(d.get("description")),
        kind=kind_from(
            d.get("service_type"), d.get("domain"), d.get("type"), d.get("serviceType"), d.get("kind"), list_key
        ),
        cloud_vpn_name=_text(cloud_vpn_name) if cloud_vpn_name else None,
        bandwidth_kbps=bandwidth,
        status=ServiceStatus.parse(_text(d.get("status"))),
        active_status=ActiveStatus.parse(_text(_first(d, "active_status", "activeStatus"))),
        parameters=entry,
        service_definition_id=_text(
            _first(d, "service_definition_id", "serviceDefinitionId", "serviceDefId", "servicedefId")
        )
        or None,
        template_id=_text(_first(d, "template_id", "templateId")) or None,
        created_at=_datetime_or_none(_first(d, "created_at", "createdAt", "create_at")),
        list_key=list_key,
    )


def parse_services(body: Json) -> list[Service]:
    """``GET /servicemanager/v1/services`` → services."""
    items = _unwrap_list(body, "services", what="services")
    return [parse_service(d) for d in items]


def parse_service_detail(body: Json) -> Service:
    """``GET /servicemanager/v1/services/{id}`` → ``{"service": {...}}`` (or the bare object)."""
    return parse_service(_unwrap_object(body, "service", what="a service"))


# ---------------------------------------------------------------------------------------------
# operations

_LOCATION_RE = re.compile(r"/services/([^/?#]+)/operations/([^/?#]+)")


def parse_operation_ref(body: Json, *, location: str | None, service_id: str | None) -> OperationRef:
    """A 202's answer → what to track.

    Create answers ``{"service": {"service_id", "operation_id"}}``; modify, delete and
    (de)activation answer ``{"operation_id"}``; every 202 carries a ``Location`` naming the
    operation, which fills what the body leaves out.
    """
    d: dict[str, Any] = {}
    if isinstance(body, dict):
        d = dict(body)
        for k in ("service", "operation", "data"):
            inner = body.get(k)
            if isinstance(inner, dict):
                d = {**d, **inner}
    sid = _first(d, "service_id", "serviceId")
    oid = _first(d, "operation_id", "operationId")
    if location:
        m = _LOCATION_RE.search(location)
        if m:
            sid = sid or m.group(1)
            oid = oid or m.group(2)
    sid = sid or service_id
    if not sid or not oid:
        raise IESProtocolError("IES accepted the request but did not say which operation tracks it.")
    return OperationRef(service_id=str(sid), operation_id=str(oid), location=location)


_RESULTS = {"success": OperationResult.SUCCESS, "succeeded": OperationResult.SUCCESS, "ok": OperationResult.SUCCESS,
            "failed": OperationResult.FAILED, "failure": OperationResult.FAILED, "fail": OperationResult.FAILED,
            "error": OperationResult.FAILED}
_DONE = {OperationProgress.DONE, "finished", "complete", "completed"}


def _operation(d: Mapping[str, Any], service_id: str | None = None) -> Operation:
    oid = _first(d, "operation_id", "operationId", "id")
    if not oid:
        raise IESProtocolError("IES sent an operation without an id.")
    raw_result = d.get("result")
    result = _RESULTS.get(str(raw_result).strip().lower()) if raw_result not in (None, "") else None
    progress = str(d.get("progress") or "").strip().lower()
    return Operation(
        operation_id=str(oid),
        service_id=_text(_first(d, "service_id", "serviceId")) or (service_id or ""),
        kind=OperationKind.parse(_text(_first(d, "operation", "operation_type", "type", "kind"))),
        content=_text(_first(d, "operation_content", "content")),
        # "done" is IES's word; a result also means it is over, whatever progress says.
        done=progress in _DONE or result is not None,
        result=result,
        reason=_text(d.get("reason")),
        started_at=_datetime_or_none(_first(d, "operate_at", "operateAt", "started_at")),
        finished_at=_datetime_or_none(_first(d, "finished_at", "finishedAt")),
    )


def parse_operation(body: Json, *, service_id: str | None = None) -> Operation | None:
    """``GET …/operations/{id}`` → the operation, or None for ``{"operation": null}`` (unknown id)."""
    if isinstance(body, dict) and "operation" in body and not isinstance(body["operation"], str):
        inner = body["operation"]
        if inner is None:
            return None
        if isinstance(inner, dict):
            return _operation(inner, service_id)
    if isinstance(body, dict) and _first(body, "operation_id", "operationId"):
        return _operation(body, service_id)
    raise IESProtocolError("IES sent an operation in an unknown shape.")


def parse_operations(body: Json, *, service_id: str | None = None) -> list[Operation]:
    """``GET …/services/{id}/operations`` → the service's operations, as IES orders them."""
    items = _unwrap_list(body, "operations", what="operations")
    return [_operation(d, service_id) for d in _dicts(items, "operation")]


# ---------------------------------------------------------------------------------------------
# traffic


def _point(p: Any) -> tuple[int, float] | None:
    if isinstance(p, list | tuple) and len(p) >= 2:
        t, v = p[0], p[1]
    elif isinstance(p, dict):
        t, v = _first(p, "time", "timestamp", "t"), _first(p, "value", "v")
    else:
        raise IESProtocolError("IES sent a traffic point in an unknown shape.")
    if v is None:  # a missing sample: leave a gap rather than invent a zero
        return None
    ts = _int_or_none(t)
    value = _number_or_none(v)
    if ts is None or value is None:
        raise IESProtocolError("IES sent a traffic point that is not a time and a number.")
    if abs(ts) >= _MS_THRESHOLD:
        ts //= 1000
    return ts, float(value)


def _plain_points(raw_points: list[Any]) -> list[tuple[int, float]] | None:
    """The common shape, ``[[unix time, number], …]`` of JSON numbers only, read without _point's
    checks (a chart or a tick reads tens of thousands of points, at ~25 µs each that way); None when
    any point is otherwise, and _point reads them all and says what is wrong."""
    if not all(type(p) is list and len(p) == 2 and type(p[0]) is int and type(p[1]) in (int, float)
               and math.isfinite(p[1]) for p in raw_points):
        return None
    return [(t // 1000 if abs(t) >= _MS_THRESHOLD else t, float(v)) for t, v in raw_points]


def parse_traffic(body: Json, *, connection: str, metric: str, start: int, end: int) -> TrafficSeries:
    """``GET /cloudvpnwatch/v1/traffic/connections/{name}/{metric}`` → a series.

    The answer's shape is the simulator's (no public source gives IES's); points are sorted by time.
    """
    if not isinstance(body, dict):
        raise IESProtocolError("IES sent traffic in an unknown shape.")
    d = _unwrap_object(body, "traffic", what="traffic")
    raw_points = _first(d, "points", "data", "values")
    if raw_points is None:
        raw_points = []
    if not isinstance(raw_points, list):
        raise IESProtocolError("IES sent traffic points in an unknown shape.")
    fast = _plain_points(raw_points)
    points = tuple(sorted(fast if fast is not None else (p for p in (_point(x) for x in raw_points) if p is not None)))
    known_metric = Metric.parse(metric)
    default_unit = known_metric.unit if isinstance(known_metric, Metric) else Metric.TRAFFIC_RATE.unit
    interval = _int_or_none(_first(d, "interval", "interval_s", "step"))
    return TrafficSeries(
        connection=_text(_first(d, "connection", "CloudVpnName")) or connection,
        metric=Metric.parse(_text(d.get("metric")) or metric),
        direction=Direction.parse(_text(d.get("direction"))),
        timedim=_text(d.get("timedim")),
        indicator=_text(d.get("indicator")),
        unit=_text(d.get("unit")) or default_unit,
        interval_s=interval if interval is not None else 0,
        points=points,
        start=_int_or_none(d.get("starttime")) if d.get("starttime") is not None else start,
        end=_int_or_none(d.get("endtime")) if d.get("endtime") is not None else end,
    )


# ---------------------------------------------------------------------------------------------
# request bodies


def _wire_values(values: Mapping[str, Any]) -> dict[str, str]:
    """All parameter values travel as strings (``"Bandwidth": "60000"``)."""
    return {str(k): _text(v) for k, v in values.items()}


def build_create_body(
    *,
    name: str,
    description: str,
    definition_id: str,
    template_id: str,
    list_key: str,
    parameters: Mapping[str, Any],
    rollback_on_failure: bool,
) -> dict[str, Any]:
    """The deck's create body: one connection entry under the template's list key, with the
    deck's ``"action": "create"`` unless the caller set one."""
    entry = {**_wire_values(parameters)}
    entry.setdefault("action", "create")
    body: dict[str, Any] = {
        "service": {
            "name": name,
            "description": description,
            "service_definition_id": definition_id,
            "template_id": template_id,
            "parameters": {list_key: [entry]},
        }
    }
    if rollback_on_failure:
        body = {"onfailure": "rollback", **body}
    return body


def build_modify_body(
    *,
    list_key: str,
    cloud_vpn_name: str,
    bandwidth_kbps: int | None = None,
    name: str | None = None,
    description: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A modify body that carries only what changes.

    The connection entry names its connection (``CloudVpnName``) so IES knows which one to change,
    then ``"action": "modify"`` (by symmetry with the deck's create entry) and the changed values;
    ``name``/``description`` only when given. ``{"service": {...}}`` like the create body.
    """
    entry: dict[str, Any] = {"CloudVpnName": cloud_vpn_name, "action": "modify"}
    if bandwidth_kbps is not None:
        entry["Bandwidth"] = bandwidth_kbps
    if extra:
        entry.update(extra)
    service: dict[str, Any] = {}
    if name is not None:
        service["name"] = name
    if description is not None:
        service["description"] = description
    service["parameters"] = {list_key: [_wire_values(entry)]}
    return {"service": service}


def build_activation_path(service_id: str, activate: bool) -> str:
    return f"/servicemanager/v1/services/{service_id}/{'activation' if activate else 'deactivation'}"


# ---------------------------------------------------------------------------------------------
# errors

_CONFLICT_IDS = {
    "servicemgr.service.status_inprogress": (
        "Another operation is still running on this service; try again when it has finished."
    ),
    "servicemgr.service.create_failed": "The service failed to be created: it can only be deleted.",
    "servicemgr.service.status_active": "The service is active: it must be deactivated first.",
}
_AUTH_IDS = {"servicemgr.permission_denied"}
_GATEWAY_STATUSES = {502, 503, 504}


def _strings(v: Any) -> list[str]:
    if v is None:
        return []
    if isinstance(v, list):
        return [_text(x) for x in v]
    return [_text(v)]


def _what(path: str) -> str:
    if "/operations" in path:
        return "operation"
    if path.startswith("/catalog"):
        return "service definition"
    if path.startswith("/cloudvpnwatch"):
        return "connection"
    return "service"


def error_for(status: int, body: Json, *, method: str, path: str, is_write: bool) -> IESError:
    """The exception for an IES error answer. ``exceptionId`` decides before the status does,
    because OPEN-O sends state conflicts as 500."""
    err = body if isinstance(body, dict) else {}
    exception_id = _text(err.get("exceptionId")) or None
    desc = _strings(err.get("descArgs"))
    reasons = _strings(err.get("reasonArgs"))
    details = _strings(err.get("detailArgs"))
    advice_list = _strings(err.get("adviceArgs"))
    advice = " ".join(dict.fromkeys(a for a in advice_list if a)) or None
    common: dict[str, Any] = {
        "status": status, "exception_id": exception_id, "advice": advice, "method": method, "path": path,
    }

    if exception_id in _CONFLICT_IDS or status == 409:
        msg = _CONFLICT_IDS.get(exception_id or "", IESConflict.default_message)
        return IESConflict(msg, **common)
    if status in (401, 403) or exception_id in _AUTH_IDS:
        return IESAuthError(None, **common)
    if status == 404:
        return IESNotFound(f"IES does not know this {_what(path)}.", **common)
    if status == 400 or (exception_id or "").endswith(("validate_error", "bad_param")):
        field_errors: dict[str, list[str]] = {}
        values: dict[str, str] = {}
        field_advice: dict[str, list[str]] = {}
        for i in range(max(len(desc), len(reasons))):
            field = desc[i] if i < len(desc) else ""
            reason = reasons[i] if i < len(reasons) and reasons[i] else "is not valid"
            field_errors.setdefault(field, []).append(reason)
            if i < len(details):
                values[field] = details[i]
            if i < len(advice_list) and advice_list[i]:
                field_advice.setdefault(field, []).append(advice_list[i])
        summary = "; ".join(f"{f}: {', '.join(r)}" if f else ", ".join(r) for f, r in field_errors.items())
        rejected = f"IES rejected the request: {summary}." if summary else None
        return IESValidationError(rejected, field_errors=field_errors, values=values, field_advice=field_advice, **common)
    if status in _GATEWAY_STATUSES or status == 429:
        # A gateway error on a write may hide a request IES did receive (502/504 from a proxy).
        return IESUnavailable(
            f"IES is not reachable at the moment (HTTP {status}).",
            maybe_applied=is_write and status in (502, 504), **common,
        )
    if 500 <= status < 600:
        why = next((r for r in reasons if r), "")
        msg = f"IES failed to handle the request: {why}" if why else f"IES failed to handle the request (HTTP {status})."
        # A write that failed inside IES may have done part of its work before failing.
        return IESServerError(msg, maybe_applied=is_write, **common)
    if 300 <= status < 400:
        return IESProtocolError(f"IES answered with an unexpected redirect (HTTP {status}).", **common)
    return IESError(f"IES refused the request (HTTP {status}).", **common)

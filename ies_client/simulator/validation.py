"""Validation of create and modify bodies, field by field, against the catalog's field specs.

Every bad field is reported (not only the first), each as one ``Problem``; descArgs carries the
plain field name ("Bandwidth", "name"), which is what a form maps back to its inputs. When a list
holds more than one entry, the reason says which entry. Nothing is changed before a body passes.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from . import catalog, errors
from .catalog import FieldSpec, ServiceDefinition
from .errors import IesError, Problem

SERVICE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
INTEGER_RE = re.compile(r"^(0|[1-9][0-9]{0,15})$")
ONFAILURE_CHOICES = ("rollback", "keep")
MAX_ENTRIES = 20
CREATE_SERVICE_KEYS = {"name", "description", "service_definition_id", "template_id", "parameters"}
MODIFY_SERVICE_KEYS = {"name", "description", "parameters", "service_definition_id", "template_id"}


@dataclass(slots=True)
class CreateRequest:
    definition: ServiceDefinition
    name: str
    description: str
    entries: list[dict[str, str]]
    onfailure: str | None


@dataclass(slots=True)
class ModifyRequest:
    name: str
    description: str
    entries: list[dict[str, str]]
    # CloudVpnName -> (old kbit/s, new kbit/s), only for connections whose bandwidth changes.
    bandwidth: dict[str, tuple[int, int]] = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)


# -- single values ------------------------------------------------------------------------------


def check_value(spec: FieldSpec, value: Any) -> tuple[str, str] | None:
    """Why ``value`` is not acceptable for ``spec`` and what to send instead, or None if it is."""
    if not isinstance(value, str):
        return "must be a string (all parameter values travel as strings)", f"send {spec.name} as a JSON string"
    if spec.type == "integer":
        if not INTEGER_RE.match(value):
            return "must be a whole number written in digits", _range_advice(spec)
        number = int(value)
        if (spec.min is not None and number < spec.min) or (spec.max is not None and number > spec.max):
            return f"must be between {spec.min} and {spec.max}", _range_advice(spec)
        if spec.step and number % spec.step:
            return f"must be a multiple of {spec.step}", _range_advice(spec)
        return None
    if spec.type == "ipv4":
        try:
            address = ipaddress.IPv4Address(value)
        except ValueError:
            return "must be an IPv4 address in dotted-quad form", "e.g. 10.1.2.0"
        if str(address) != value:
            return "must be an IPv4 address in canonical dotted-quad form", f"send {address}"
        return None
    if spec.type == "uuid":
        return None if UUID_RE.match(value) else ("must be a UUID", "e.g. db79cd8b-91e2-43f8-9791-54b8b2181a70")
    if spec.type == "enum":
        choices = spec.choices or ()
        return None if value in choices else (f"must be one of {', '.join(choices)}", "pick one of the listed models")
    if spec.min_length is not None and len(value) < spec.min_length:
        return f"must be at least {spec.min_length} characters", _string_advice(spec)
    if spec.max_length is not None and len(value) > spec.max_length:
        return f"must be at most {spec.max_length} characters", _string_advice(spec)
    if spec.pattern and not re.fullmatch(spec.pattern, value):
        return f"must match {spec.pattern}", _string_advice(spec)
    return None


def _range_advice(spec: FieldSpec) -> str:
    unit = f" {spec.unit}" if spec.unit else ""
    step = f" in steps of {spec.step}" if spec.step else ""
    return f"send an integer from {spec.min} to {spec.max}{unit}{step}, as a string"


def _string_advice(spec: FieldSpec) -> str:
    if spec.name.endswith("ESN"):
        return "send the 20-character serial number printed on the device"
    return f"use {spec.min_length}-{spec.max_length} characters: letters, digits, _ and -"


# -- one entry of Site2DCList / Site2SiteList ---------------------------------------------------


def check_entry(
    definition: ServiceDefinition, entry: dict[str, Any], where: str, *, action: str
) -> list[Problem]:
    """All problems of one complete entry (a create entry, or a modify entry after merging)."""
    problems: list[Problem] = []
    specs = definition.field_map
    for key, value in entry.items():
        if key == "action":
            if value != action:
                problems.append(Problem("action", f"{where}must be \"{action}\"", _text(value), f'send "{action}"'))
        elif key not in specs:
            problems.append(
                Problem(key, f"{where}is not a parameter of {definition.domain}", _text(value), "leave it out")
            )
    for spec in definition.fields:
        if spec.name not in entry:
            if spec.required:
                problems.append(Problem(spec.name, f"{where}is required", "", f"send {spec.name}"))
            continue
        bad = check_value(spec, entry[spec.name])
        if bad:
            problems.append(Problem(spec.name, where + bad[0], _text(entry[spec.name]), bad[1]))
    if problems:
        return problems  # cross-field rules only make sense once every field reads well
    if definition.domain == "Site2DC":
        problems += _check_subnet(entry, "cidr", "cidrBlockSize", where)
    else:
        problems += _check_subnet(entry, "cidr_A", "cidrBlockSize_A", where)
        problems += _check_subnet(entry, "cidr_B", "cidrBlockSize_B", where)
        if entry.get("CPE_A_ESN") and entry.get("CPE_A_ESN") == entry.get("CPE_B_ESN"):
            problems.append(
                Problem("CPE_B_ESN", f"{where}must differ from CPE_A_ESN", entry["CPE_B_ESN"], "one device per site")
            )
        if not problems:
            net_a, net_b = _network(entry, "cidr_A", "cidrBlockSize_A"), _network(entry, "cidr_B", "cidrBlockSize_B")
            if net_a and net_b and net_a.overlaps(net_b):
                problems.append(
                    Problem("cidr_B", f"{where}subnet {net_b} overlaps site A's {net_a}", entry["cidr_B"],
                            "give the two sites disjoint subnets")
                )
    return problems


def _network(entry: dict[str, Any], cidr_key: str, size_key: str) -> ipaddress.IPv4Network | None:
    if not entry.get(cidr_key):
        return None
    size = entry.get(size_key) or "24"
    return ipaddress.IPv4Network(f"{entry[cidr_key]}/{size}", strict=False)


def _check_subnet(entry: dict[str, Any], cidr_key: str, size_key: str, where: str) -> list[Problem]:
    network = _network(entry, cidr_key, size_key)
    if network is None:
        return []
    address = ipaddress.IPv4Address(entry[cidr_key])
    reason = None
    if address.is_loopback or address.is_multicast or address.is_reserved or address.is_unspecified:
        reason = "is a loopback, multicast, reserved or unspecified address"
    elif address in ipaddress.IPv4Network("0.0.0.0/8"):
        reason = "is in 0.0.0.0/8 (this network)"
    elif address == network.broadcast_address:
        reason = f"is the broadcast address of {network}"
    if reason is None:
        return []
    return [Problem(cidr_key, where + reason, entry[cidr_key], "use a host or network address of the site's subnet")]


# -- whole bodies -------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value[:200]
    return repr(value)[:200]


_MISSING = object()


def _check_name(value: Any, problems: list[Problem], *, required: bool) -> None:
    """``value`` is ``_MISSING`` when the key is absent; a null is a value, and a wrong one."""
    if value is _MISSING:
        if required:
            problems.append(Problem("name", "is required", "", "send a service name"))
        return
    if not isinstance(value, str):
        problems.append(Problem("name", "must be a string", _text(value), "send a service name"))
    elif not 1 <= len(value) <= 255:
        problems.append(Problem("name", "must be 1-255 characters", _text(value), "shorten the name"))
    elif not SERVICE_NAME_RE.match(value):
        problems.append(
            Problem("name", "must start with a letter or digit and hold only letters, digits, _ . -",
                    _text(value), "e.g. site2dc4_201705071158")
        )


def _check_description(value: Any, problems: list[Problem]) -> None:
    if value is _MISSING:
        return
    if not isinstance(value, str):
        problems.append(Problem("description", "must be a string", _text(value), "send text"))
    elif len(value) > 255:
        problems.append(Problem("description", "must be at most 255 characters", _text(value), "shorten it"))


def _check_id(service: dict[str, Any], key: str, problems: list[Problem]) -> str | None:
    if key not in service:
        problems.append(Problem(key, "is required", "", f"send {key} from the catalog"))
        return None
    value = service[key]
    if not isinstance(value, str) or not 1 <= len(value) <= 36:
        problems.append(Problem(key, "must be a string of 1-36 characters", _text(value), "copy it from the catalog"))
    else:
        return value
    return None


def _entry_list(
    definition: ServiceDefinition, parameters: Any, problems: list[Problem]
) -> list[dict[str, Any]] | None:
    """The entry list out of ``parameters``, or None (with problems added) when its shape is wrong."""
    key = definition.list_key
    if not isinstance(parameters, dict):
        problems.append(Problem("parameters", f'must be an object holding "{key}"', _text(parameters), ""))
        return None
    for other in parameters:
        if other != key:
            problems.append(Problem(other, f'is not expected: {definition.domain} takes "{key}"', "", "leave it out"))
    entries = parameters.get(key)
    if not isinstance(entries, list) or not entries:
        problems.append(Problem(key, "must be a non-empty list of connections", _text(entries), ""))
        return None
    if len(entries) > MAX_ENTRIES:
        problems.append(Problem(key, f"must hold at most {MAX_ENTRIES} connections", str(len(entries)), ""))
        return None
    if not all(isinstance(e, dict) for e in entries):
        problems.append(Problem(key, "must hold JSON objects", "", ""))
        return None
    return entries


def _where(index: int, count: int) -> str:
    return f"entry {index + 1}: " if count > 1 else ""


def _raise(problems: list[Problem], shape_problems: int) -> None:
    if problems:
        exception_id = errors.BAD_PARAM if shape_problems else errors.VALIDATE_ERROR
        raise IesError(400, exception_id, problems)


def validate_create(body: Any, names_in_use: Collection[str]) -> CreateRequest:
    """Check a create body; ``names_in_use`` are the CloudVpnNames of the tenant's live services."""
    if not isinstance(body, dict):
        raise errors.fail(400, errors.BAD_PARAM, "body", "must be a JSON object", body)
    shape: list[Problem] = []
    for key in body:
        if key not in ("onfailure", "service"):
            shape.append(Problem(key, "is not expected", "", "send only onfailure and service"))
    onfailure = body.get("onfailure")
    if "onfailure" in body and onfailure not in ONFAILURE_CHOICES:
        shape.append(Problem("onfailure", f"must be one of {', '.join(ONFAILURE_CHOICES)}", _text(onfailure), ""))
    service = body.get("service")
    if not isinstance(service, dict):
        shape.append(Problem("service", "is required and must be an object", _text(service), ""))
        raise IesError(400, errors.BAD_PARAM, shape)
    for key in service:
        if key not in CREATE_SERVICE_KEYS:
            shape.append(Problem(key, "is not expected in service", "", "leave it out"))
    _check_name(service.get("name", _MISSING), shape, required=True)
    _check_description(service.get("description", _MISSING), shape)
    definition_id = _check_id(service, "service_definition_id", shape)
    template_id = _check_id(service, "template_id", shape)

    definition = catalog.find(definition_id) if definition_id else None
    definition_error: IesError | None = None
    if definition_id and definition is None:
        definition_error = errors.fail(400, errors.TEMPLATE_NOT_EXIST, "service_definition_id",
                                       "no such service definition", definition_id, "pick one from the catalog")
    elif definition is not None and template_id and template_id != definition.template_id:
        definition_error = errors.fail(400, errors.TEMPLATE_NOT_EXIST, "template_id",
                                       "is not the template of this service definition", template_id,
                                       f"use {definition.template_id}")
    elif definition is not None and definition.status != "active":
        definition_error = errors.fail(400, errors.NOT_ACTIVATION, "service_definition_id",
                                       f"the service definition is {definition.status}", definition.id,
                                       "order an active service definition")

    params: list[Problem] = []
    entries: list[dict[str, Any]] = []
    # Parameters are read against the definition only once the definition is certainly the one meant.
    if definition is not None and definition_error is None and "parameters" in service:
        listed = _entry_list(definition, service["parameters"], shape)
        entries = listed or []
        seen: set[str] = set()
        for index, entry in enumerate(entries):
            where = _where(index, len(entries))
            params += check_entry(definition, entry, where, action="create")
            name = entry.get("CloudVpnName")
            if isinstance(name, str):
                if name in seen:
                    params.append(Problem("CloudVpnName", f"{where}is used twice in this request", name, ""))
                elif name in names_in_use:
                    params.append(Problem("CloudVpnName", f"{where}is already used by another service of this tenant",
                                          name, "choose another name"))
                seen.add(name)
    elif definition is not None and definition_error is None:
        shape.append(Problem("parameters", "is required", "", f'send {{"{definition.list_key}": [...]}}'))

    if shape:
        raise IesError(400, errors.BAD_PARAM, shape + params)
    if definition_error is not None:
        raise definition_error
    assert definition is not None
    _raise(params, 0)
    return CreateRequest(
        definition=definition,
        name=service["name"],
        description=service.get("description") or "",
        entries=[{k: v for k, v in e.items() if k != "action"} for e in entries],
        onfailure=onfailure,
    )


def validate_modify(
    body: Any, definition: ServiceDefinition, current: dict[str, Any], name: str, description: str
) -> ModifyRequest:
    """Check a modify body against the service as it is, merge, and check the merged result."""
    if not isinstance(body, dict):
        raise errors.fail(400, errors.BAD_PARAM, "body", "must be a JSON object", body)
    shape: list[Problem] = []
    for key in body:
        if key not in ("service", "onfailure"):
            shape.append(Problem(key, "is not expected", "", "send only service"))
    onfailure = body.get("onfailure")
    if "onfailure" in body and onfailure not in ONFAILURE_CHOICES:
        shape.append(Problem("onfailure", f"must be one of {', '.join(ONFAILURE_CHOICES)}", _text(onfailure), ""))
    service = body.get("service")
    if not isinstance(service, dict):
        shape.append(Problem("service", "is required and must be an object", _text(service), ""))
        raise IesError(400, errors.BAD_PARAM, shape)
    for key in service:
        if key not in MODIFY_SERVICE_KEYS:
            shape.append(Problem(key, "cannot be changed", "", "leave it out"))
    for key, expected in (("service_definition_id", definition.id), ("template_id", definition.template_id)):
        if key in service and service[key] != expected:
            shape.append(Problem(key, "cannot be changed", _text(service[key]), f"send {expected} or leave it out"))
    if not any(key in service for key in ("name", "description", "parameters")):
        shape.append(Problem("service", "holds nothing to change", "", "send name, description or parameters"))
    _check_name(service.get("name", _MISSING), shape, required=False)
    _check_description(service.get("description", _MISSING), shape)

    result = ModifyRequest(
        name=service.get("name") or name,
        description=service["description"] if isinstance(service.get("description"), str) else description,
        entries=[dict(e) for e in current.get(definition.list_key, [])],
    )
    if "name" in service and result.name != name:
        result.changes.append(f"name {name} -> {result.name}")
    if "description" in service and result.description != description:
        result.changes.append("description")

    params: list[Problem] = []
    if "parameters" in service:
        changes = _entry_list(definition, service["parameters"], shape) or []
        by_name = {e.get("CloudVpnName"): i for i, e in enumerate(result.entries)}
        seen: set[str] = set()
        for index, change in enumerate(changes):
            where = _where(index, len(changes))
            vpn = change.get("CloudVpnName")
            if not isinstance(vpn, str) or vpn not in by_name:
                params.append(Problem("CloudVpnName", f"{where}names no connection of this service",
                                      _text(vpn), "send the CloudVpnName of the connection to change"))
                continue
            if vpn in seen:
                params.append(Problem("CloudVpnName", f"{where}is named twice in this request", vpn, ""))
                continue
            seen.add(vpn)
            old = result.entries[by_name[vpn]]
            merged = {**old, **change}
            entry_problems = check_entry(definition, merged, where, action="modify")
            params += entry_problems
            if entry_problems:
                continue
            merged.pop("action", None)
            result.entries[by_name[vpn]] = merged
            for key in sorted(k for k in change if k not in ("action", "CloudVpnName") and old.get(k) != change[k]):
                if key == "Bandwidth":
                    result.bandwidth[vpn] = (int(old["Bandwidth"]), int(merged["Bandwidth"]))
                    result.changes.append(f"{vpn} Bandwidth {old['Bandwidth']} -> {merged['Bandwidth']} kbit/s")
                else:
                    result.changes.append(f"{vpn} {key} {old.get(key, '')} -> {merged[key]}")
    if shape:
        raise IesError(400, errors.BAD_PARAM, shape + params)
    _raise(params, 0)
    return result

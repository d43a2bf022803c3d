"""The service catalog: three fixed definitions and the parameter schema of their templates.

OPEN-O sends no parameter schema with a template; the simulator adds one (``parameters``) so that a
portal can build its order form from it. The same field specs drive validation (validation.py) and
the OpenAPI document (openapi.py), so the three can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NAME_PATTERN = r"^[A-Za-z0-9_-]+$"
CPE_TYPES = ("AR169FGW-L", "AR161FGW-L", "AR1220E", "AR2220E")

BANDWIDTH_MIN = 1000
BANDWIDTH_MAX = 10_000_000
BANDWIDTH_STEP = 1000
VNI_MIN = 1
VNI_MAX = 16_777_215
PREFIX_MIN = 8
PREFIX_MAX = 30


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One template parameter. All values travel as strings; ``type`` says how to read them."""

    name: str
    type: str  # string | integer | ipv4 | uuid | enum
    help: str
    required: bool = False
    default: str | None = None
    unit: str | None = None
    min: int | None = None
    max: int | None = None
    step: int | None = None
    pattern: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    choices: tuple[str, ...] | None = None

    def as_json(self) -> dict[str, Any]:
        constraints: dict[str, Any] = {}
        for key, value in (
            ("min", self.min),
            ("max", self.max),
            ("step", self.step),
            ("pattern", self.pattern),
            ("minLength", self.min_length),
            ("maxLength", self.max_length),
        ):
            if value is not None:
                constraints[key] = value
        if self.choices is not None:
            constraints["choices"] = list(self.choices)
        return {
            "name": self.name,
            "type": self.type,
            "required": self.required,
            "default": self.default,
            "help": self.help,
            "unit": self.unit,
            "constraints": constraints,
        }


def _name_field(name: str, help_text: str, *, required: bool = False) -> FieldSpec:
    return FieldSpec(name, "string", help_text, required=required, pattern=NAME_PATTERN, min_length=1, max_length=64)


def _cpe_fields(side: str) -> list[FieldSpec]:
    """The CPE fields of one site: the deck names them CPE_A_*; Site2Site adds CPE_B_* by symmetry."""
    prefix = f"CPE_{side}_"
    return [
        _name_field(prefix + "Site", f"Site name of CPE {side}"),
        FieldSpec(prefix + "Type", "enum", f"Model of CPE {side}", default="AR169FGW-L", choices=CPE_TYPES),
        FieldSpec(
            prefix + "ESN",
            "string",
            f"Equipment serial number of CPE {side}: 20 characters 0-9 A-Z",
            pattern=r"^[0-9A-Z]{20}$",
            min_length=20,
            max_length=20,
        ),
        _name_field(prefix + "Position", f"Position (site) where CPE {side} is installed"),
        _name_field(prefix + "POP", f"Point of presence CPE {side} attaches to"),
    ]


def _common_head() -> list[FieldSpec]:
    return [
        _name_field("CloudVpnName", "Name of the VPN connection; identifies it in monitoring", required=True),
        FieldSpec("VNI", "integer", "VXLAN network identifier", min=VNI_MIN, max=VNI_MAX),
    ]


BANDWIDTH = FieldSpec(
    "Bandwidth",
    "integer",
    "Bandwidth of the connection",
    required=True,
    unit="kbit/s",
    min=BANDWIDTH_MIN,
    max=BANDWIDTH_MAX,
    step=BANDWIDTH_STEP,
)


def _subnet(cidr: str, size: str, what: str) -> list[FieldSpec]:
    return [
        FieldSpec(cidr, "ipv4", f"Address of the {what} subnet (dotted quad)"),
        FieldSpec(size, "integer", f"Prefix length of the {what} subnet", default="24", min=PREFIX_MIN, max=PREFIX_MAX),
    ]


SITE2DC_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("VPC_ID", "uuid", "Id of the cloud VPC the site connects to"),
    *_common_head(),
    *_cpe_fields("A"),
    BANDWIDTH,
    *_subnet("cidr", "cidrBlockSize", "site"),
)

SITE2SITE_FIELDS: tuple[FieldSpec, ...] = (
    *_common_head(),
    BANDWIDTH,
    *_cpe_fields("A"),
    *_subnet("cidr_A", "cidrBlockSize_A", "site A"),
    *_cpe_fields("B"),
    *_subnet("cidr_B", "cidrBlockSize_B", "site B"),
)


@dataclass(frozen=True, slots=True)
class ServiceDefinition:
    id: str
    name: str
    description: str
    domain: str  # Site2DC | Site2Site: becomes the service's kind
    status: str  # active | inactive | delete pending: only active may be ordered
    version: str
    template_id: str
    template_name: str
    fields: tuple[FieldSpec, ...] = field(repr=False)

    @property
    def list_key(self) -> str:
        return f"{self.domain}List"

    @property
    def field_map(self) -> dict[str, FieldSpec]:
        return {f.name: f for f in self.fields}

    def templates(self) -> list[dict[str, str]]:
        return [{"id": self.template_id, "name": self.template_name, "url": f"/rest/catalog/v1/templates/{self.template_id}"}]

    def as_list_item(self) -> dict[str, Any]:
        return {
            "serviceDefId": self.id,
            "name": self.name,
            "description": self.description,
            "serviceType": "CloudVPN",
            "domain": self.domain,
            "status": self.status,
            "version": self.version,
            "templates": self.templates(),
        }

    def as_detail(self) -> dict[str, Any]:
        return {
            "serviceDefId": self.id,
            "servicedefId": self.id,
            "name": self.name,
            "description": self.description,
            "serviceType": "CloudVPN",
            "domain": self.domain,
            "status": self.status,
            "version": self.version,
            "template_id": self.template_id,
            "templates": self.templates(),
            "parameterListKey": self.list_key,
            "parameters": [f.as_json() for f in self.fields],
        }


SITE2DC = ServiceDefinition(
    id="8c34e27ed6644bbfbce93a41a05cb7ab",
    name="CloudVPN Site2DC",
    description="Connect an enterprise site to a cloud VPC (data centre)",
    domain="Site2DC",
    status="active",
    version="1.0",
    template_id="e77fc5e21e1e42c9933ec9574c33a5d8",
    template_name="Site2DC template",
    fields=SITE2DC_FIELDS,
)
SITE2SITE = ServiceDefinition(
    id="3f1c0d2a9b8e4c7d8e6f5a4b3c2d1e0f",
    name="CloudVPN Site2Site",
    description="Connect two enterprise sites through the cloud",
    domain="Site2Site",
    status="active",
    version="1.0",
    template_id="a1b2c3d4e5f60718293a4b5c6d7e8f90",
    template_name="Site2Site template",
    fields=SITE2SITE_FIELDS,
)
SITE2DC_LEGACY = ServiceDefinition(
    id="0badc0de0badc0de0badc0de0badc0de",
    name="CloudVPN Site2DC (legacy)",
    description="Retired Site2DC package: listed, no longer orderable",
    domain="Site2DC",
    status="inactive",
    version="0.9",
    template_id="deadbeefdeadbeefdeadbeefdeadbeef",
    template_name="Site2DC legacy template",
    fields=SITE2DC_FIELDS,
)

DEFINITIONS: tuple[ServiceDefinition, ...] = (SITE2DC, SITE2SITE, SITE2DC_LEGACY)
_BY_ID = {d.id: d for d in DEFINITIONS}


def find(definition_id: str) -> ServiceDefinition | None:
    return _BY_ID.get(definition_id)


def for_kind(kind: str) -> ServiceDefinition:
    """The active definition of a service kind (used by presets and bulk creation)."""
    return SITE2SITE if kind == "Site2Site" else SITE2DC

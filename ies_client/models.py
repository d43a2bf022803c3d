"""Typed values the IES client returns and accepts.

Frozen, slotted dataclasses with portal-side names: nothing here spells a wire field
(``service_definition_id``, ``CloudVpnName``, ``Bandwidth``…); :mod:`ies_client.wire` translates.
Times are timezone-aware UTC datetimes, except traffic points (see :class:`TrafficSeries`).
Bandwidths are integers in kbit/s. Plain Python: no Django import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from ies_client.redact import mask
from ies_client.vocabulary import (
    CONNECTION_NAME_PARAMETER,
    KBPS_UNIT,
    ActiveStatus,
    DefinitionStatus,
    Direction,
    ListKey,
    Metric,
    OperationKind,
    OperationProgress,
    OperationResult,
    ParameterRole,
    ServiceKind,
    ServiceStatus,
    in_progress,
    parameter_role,
)

# The vocabulary is re-exported here so that one import names both the values and the words:
# ``from ies_client import models as ies`` then ``ies.Service`` and ``ies.ServiceStatus.COMPLETED``.
__all__ = [
    "CONNECTION_NAME_PARAMETER",
    "KBPS_UNIT",
    "ActiveStatus",
    "DefinitionStatus",
    "Direction",
    "IESCredentials",
    "ListKey",
    "Metric",
    "Operation",
    "OperationKind",
    "OperationProgress",
    "OperationRef",
    "OperationResult",
    "ParameterField",
    "ParameterRole",
    "Service",
    "ServiceDefinition",
    "ServiceDefinitionDetail",
    "ServiceKind",
    "ServiceStatus",
    "TrafficSeries",
    "in_progress",
    "parameter_role",
]


@dataclass(frozen=True, slots=True)
class IESCredentials:
    """A tenant's credentials. The repr masks the token and the bearer (last four characters only)."""

    token: str
    bearer: str
    tenant_id: str | None = None

    def __repr__(self) -> str:
        return (
            f"IESCredentials(token={mask(self.token)!r}, bearer={mask(self.bearer)!r}, "
            f"tenant_id={self.tenant_id!r})"
        )

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class ServiceDefinition:
    """A catalog entry: something the tenant may order (if active)."""

    id: str
    name: str
    description: str
    kind: ServiceKind | None  # None: a definition of a type the portal does not handle
    status: DefinitionStatus | str  # a word this client does not know stays a plain string
    version: str
    template_ids: tuple[str, ...] = ()

    @property
    def orderable(self) -> bool:
        """Only an active definition of a known kind, with a template, can be ordered."""
        return self.status.lower() == DefinitionStatus.ACTIVE and self.kind is not None and bool(self.template_ids)


@dataclass(frozen=True, slots=True)
class ParameterField:
    """One template parameter: what the creation wizard renders and checks.

    ``type`` is one of "string", "integer", "ipv4", "uuid", "enum" (other strings pass through
    when a real IES knows more types). All values travel to IES as strings, whatever the type.
    """

    name: str
    type: str = "string"
    required: bool = False
    default: str | None = None
    help: str = ""
    unit: str | None = None
    min: int | float | None = None
    max: int | float | None = None
    step: int | float | None = None
    pattern: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    choices: tuple[str, ...] = ()

    @property
    def role(self) -> ParameterRole:
        """What the parameter is for (:func:`~ies_client.vocabulary.parameter_role` of its name)."""
        return parameter_role(self.name)[0]

    @property
    def side(self) -> str | None:
        """The site ("A", "B") a CPE or subnet parameter belongs to; None for the others."""
        return parameter_role(self.name)[1]

    @property
    def in_kbps(self) -> bool:
        """The definition gives this parameter's unit as kbit/s (a bandwidth, whatever its name)."""
        return self.unit == KBPS_UNIT


@dataclass(frozen=True, slots=True)
class ServiceDefinitionDetail:
    """A definition in full: the template to order it with and the parameters it takes.

    ``schema_from_ies`` is False when IES sent no parameter schema (OPEN-O does not) and the fields
    come from the client's built-in knowledge of Site2DC/Site2Site (:mod:`ies_client.known_fields`).
    """

    definition: ServiceDefinition
    template_id: str
    list_key: str | None  # a ListKey ("Site2DCList"), or IES's own key; None if unknown (not orderable)
    fields: tuple[ParameterField, ...]
    schema_from_ies: bool

    @property
    def id(self) -> str:
        return self.definition.id

    @property
    def kind(self) -> ServiceKind | None:
        return self.definition.kind

    def field(self, name: str) -> ParameterField | None:
        """The field called ``name``, or None."""
        for f in self.fields:
            if f.name == name:
                return f
        return None

    def field_with_role(self, role: ParameterRole) -> ParameterField | None:
        """The first field that plays ``role`` (e.g. the bandwidth), or None."""
        return next((f for f in self.fields if f.role is role), None)


@dataclass(frozen=True, slots=True)
class Service:
    """A service instance as IES reports it.

    ``parameters`` is the service's connection entry (``Site2DCList[0]`` on the wire), values as
    strings, exactly as IES holds them; ``cloud_vpn_name`` and ``bandwidth_kbps`` are read from it
    (or from the flat fields a real IES may add). List items may lack parameters: then
    ``parameters`` is empty and the two derived values may be None.
    """

    service_id: str
    name: str
    description: str = ""
    kind: ServiceKind | None = None
    cloud_vpn_name: str | None = None
    bandwidth_kbps: int | None = None
    status: ServiceStatus | str = ""  # a word this client does not know stays a plain string
    active_status: ActiveStatus | str = ""
    parameters: dict[str, str] = field(default_factory=dict)
    service_definition_id: str | None = None
    template_id: str | None = None
    created_at: datetime | None = None
    list_key: str | None = None  # where ``parameters`` sat on the wire, needed to modify it

    @property
    def in_progress(self) -> bool:
        """An operation is running: IES refuses any other change until it ends."""
        return in_progress(self.status) or in_progress(self.active_status)

    @property
    def is_active(self) -> bool:
        """The connection is up (it stays up while its bandwidth is being changed)."""
        return self.active_status == ActiveStatus.ACTIVE

    @property
    def failed(self) -> bool:
        return self.status in (ServiceStatus.FAILED, ServiceStatus.CREATE_FAILED)

    @property
    def connection_list_key(self) -> str:
        """The list key a change of the connection goes under: where IES put the entry, else the
        kind's; a service of no known kind is addressed as a Site2DC, the deck's own example."""
        if self.list_key:
            return self.list_key
        return (self.kind or ServiceKind.SITE2DC).list_key


@dataclass(frozen=True, slots=True)
class OperationRef:
    """What a 202 names: the operation to track. ``location`` is the Location header, if sent."""

    service_id: str
    operation_id: str
    location: str | None = None


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation on a service: IES gives no percentage, only running or done.

    ``result`` is an :class:`OperationResult` once ``done``, None while running. ``reason`` says why
    it failed (e.g. "… rolled back"). ``kind`` is an :class:`OperationKind` on a known IES; an
    unknown kind is passed through as IES spelled it.
    """

    operation_id: str
    service_id: str
    kind: OperationKind | str
    content: str = ""
    done: bool = False
    result: OperationResult | None = None
    reason: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def succeeded(self) -> bool:
        return self.done and self.result == OperationResult.SUCCESS

    @property
    def failed(self) -> bool:
        return self.done and self.result == OperationResult.FAILED


@dataclass(frozen=True, slots=True)
class TrafficSeries:
    """A traffic time series of one connection.

    ``points`` is a tuple of ``(epoch_seconds, value)`` pairs: the start of each bucket as an int
    of Unix seconds (UTC-aligned) and the value as a float, in ``unit`` ("bit/s" for traffic-rate,
    "%" for bandwidth-utilization). Epoch ints rather than datetimes because a month by the minute
    is 44,640 points: ints are cheap to build, compare, downsample and hand to a chart, and the
    tuple needs no numpy. Use :meth:`times` for datetimes when you need them.
    """

    connection: str
    metric: Metric | str
    direction: Direction | str
    timedim: str
    indicator: str
    unit: str
    interval_s: int
    points: tuple[tuple[int, float], ...]
    start: int | None = None  # the requested window [start, end), Unix seconds
    end: int | None = None

    def __len__(self) -> int:
        return len(self.points)

    def values(self) -> tuple[float, ...]:
        return tuple(v for _, v in self.points)

    def times(self) -> tuple[datetime, ...]:
        return tuple(datetime.fromtimestamp(t, UTC) for t, _ in self.points)

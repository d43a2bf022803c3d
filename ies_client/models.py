"""Typed values the IES client returns and accepts.

Frozen, slotted dataclasses with portal-side names: nothing here spells a wire field
(``service_definition_id``, ``CloudVpnName``, ``Bandwidth``…); :mod:`ies_client.wire` translates.
Times are timezone-aware UTC datetimes, except traffic points (see :class:`TrafficSeries`).
Bandwidths are integers in kbit/s. Plain Python: no Django import.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from ies_client.redact import mask

__all__ = [
    "IESCredentials",
    "Operation",
    "OperationKind",
    "OperationRef",
    "ParameterField",
    "Service",
    "ServiceDefinition",
    "ServiceDefinitionDetail",
    "ServiceKind",
    "TrafficSeries",
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


class ServiceKind(enum.StrEnum):
    """The two CloudVPN service types IES offers."""

    SITE2DC = "Site2DC"
    SITE2SITE = "Site2Site"

    @property
    def list_key(self) -> str:
        """The key of the connection list inside a service's parameters (``Site2DCList``)."""
        return f"{self.value}List"


@dataclass(frozen=True, slots=True)
class ServiceDefinition:
    """A catalog entry: something the tenant may order (if active)."""

    id: str
    name: str
    description: str
    kind: ServiceKind | None  # None: a definition of a type the portal does not handle
    status: str  # "active", "inactive", "delete pending"
    version: str
    template_ids: tuple[str, ...] = ()

    @property
    def orderable(self) -> bool:
        """Only an active definition of a known kind, with a template, can be ordered."""
        return self.status.lower() == "active" and self.kind is not None and bool(self.template_ids)


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


@dataclass(frozen=True, slots=True)
class ServiceDefinitionDetail:
    """A definition in full: the template to order it with and the parameters it takes.

    ``schema_from_ies`` is False when IES sent no parameter schema (OPEN-O does not) and the fields
    come from the client's built-in knowledge of Site2DC/Site2Site (:mod:`ies_client.known_fields`).
    """

    definition: ServiceDefinition
    template_id: str
    list_key: str | None  # "Site2DCList" / "Site2SiteList"; None if unknown (not orderable)
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


_IN_PROGRESS_SUFFIX = "InProgress"


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
    status: str = ""
    active_status: str = ""
    parameters: dict[str, str] = field(default_factory=dict)
    service_definition_id: str | None = None
    template_id: str | None = None
    created_at: datetime | None = None
    list_key: str | None = None  # where ``parameters`` sat on the wire, needed to modify it

    @property
    def in_progress(self) -> bool:
        """An operation is running: IES refuses any other change until it ends."""
        return self.status.endswith(_IN_PROGRESS_SUFFIX) or self.active_status.endswith(_IN_PROGRESS_SUFFIX)

    @property
    def is_active(self) -> bool:
        """The connection is up (it stays up while its bandwidth is being changed)."""
        return self.active_status == "Active"

    @property
    def failed(self) -> bool:
        return self.status in ("Failed", "CreateFailed")


@dataclass(frozen=True, slots=True)
class OperationRef:
    """What a 202 names: the operation to track. ``location`` is the Location header, if sent."""

    service_id: str
    operation_id: str
    location: str | None = None


OperationKind = Literal["Create", "Update", "Delete", "Activate", "Deactivate"]


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation on a service: IES gives no percentage, only running or done.

    ``result`` is "success" or "failed" once ``done``, None while running. ``reason`` says why it
    failed (e.g. "… rolled back"). ``kind`` is one of :data:`OperationKind` on a known IES; an
    unknown kind is passed through as IES spelled it.
    """

    operation_id: str
    service_id: str
    kind: str
    content: str = ""
    done: bool = False
    result: Literal["success", "failed"] | None = None
    reason: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def succeeded(self) -> bool:
        return self.done and self.result == "success"

    @property
    def failed(self) -> bool:
        return self.done and self.result == "failed"


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
    metric: str
    direction: str
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

"""What the API sends and takes, as pydantic schemas: the OpenAPI document is made from them.

Bandwidths are whole kbit/s (IES's unit), times ISO 8601 with their offset.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from django.utils.translation import gettext as _
from ninja import Field, Path, Schema
from pydantic import ConfigDict, field_validator

# What IES's ids look like (service ids are URL-safe base64, definition ids hex): anything else is
# refused before it reaches a cache key or an IES path.
IES_ID = r"^[A-Za-z0-9_.-]{1,64}$"
ServiceId = Annotated[str, Path(pattern=IES_ID, description="IES's id of the service.")]
# The portal's own row ids (operations, policies): within a database's 64-bit integer.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class Input(Schema):
    """What a caller sends (a body, or a query's parameters): a field it does not take is refused,
    not dropped, and no text may hold a NUL character (PostgreSQL's text cannot, and no name,
    filter or id needs one)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        texts = value.values() if isinstance(value, dict) else (value,)
        if any(isinstance(text, str) and "\x00" in text for text in texts):
            raise ValueError(_("Text may not contain NUL characters."))
        return value


class Problem(Schema):
    """RFC 9457 problem details (sent as application/problem+json)."""

    type: str = Field(description="A stable URI naming the kind of problem, e.g. urn:cloudvpn:problem:forbidden.")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[dict[str, str]] | None = Field(None, description="Refused values: field and message.")
    ies_reason: str | None = Field(None, description="What IES said, where IES refused.")
    retry_after: int | None = None
    scope: str | None = None
    operation_id: int | None = None


class ServiceOut(Schema):
    id: str = Field(description="IES's id of the service.")
    name: str
    description: str
    kind: str = Field(description="site_to_dc or site_to_site (empty when not known yet).")
    connection_name: str = Field(description="The connection's CloudVpnName (traffic is read by it).")
    bandwidth_kbps: int | None
    status: str = Field(description="IES's status (Active, Creating, Modifying, …).")
    active_status: str
    definition_id: str
    parameters: dict[str, Any]
    created_at: datetime | None
    last_changed_at: datetime | None
    synced_at: datetime | None = Field(description="When the portal last read this service from IES.")
    deleted_at: datetime | None = Field(description="Set once IES no longer lists the service.")
    operation_in_flight: int | None = Field(None, description="Id of the operation changing it now, if any.")


class ServicePage(Schema):
    count: int
    limit: int
    offset: int
    next: str | None
    as_of: datetime | None = Field(description="When the portal last read the tenant's list from IES.")
    items: list[ServiceOut]


class ServiceCreateIn(Input):
    definition_id: str = Field(pattern=IES_ID, description="From GET /catalog.")
    name: str = Field(min_length=1, max_length=255)
    description: str = Field("", max_length=255)
    parameters: dict[str, str | int] = Field(
        default_factory=dict, description="The definition's parameters by name; bandwidths in kbit/s.")


class BandwidthChangeIn(Input):
    bandwidth_kbps: int = Field(gt=0, le=100_000_000, description="The new bandwidth, kbit/s.")


class OperationOut(Schema):
    id: int
    kind: Literal["create", "modify", "delete", "activate", "deactivate"] | str
    state: str = Field(description="queued, processing, succeeded, failed, rolled_back, stuck or needs_attention.")
    done: bool = Field(description="True once the operation is no longer in flight (succeeded, failed, rolled back, stuck or needs attention).")
    service_id: str
    service_name: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    message: str = Field(description="IES's reason, or what the portal saw.")
    requested_by: str
    created_at: datetime
    submitted_at: datetime | None
    finished_at: datetime | None
    expected_seconds: float | None


class OperationPage(Schema):
    count: int
    limit: int
    offset: int
    next: str | None
    items: list[OperationOut]


class IESRequest(Schema):
    method: str
    path: str
    body: dict[str, Any] | None


class DryRun(Schema):
    dry_run: Literal[True] = True
    valid: bool
    ies_request: IESRequest
    note: str


class DefinitionOut(Schema):
    id: str
    name: str
    kind: str
    status: str
    orderable: bool
    description: str


class ParameterOut(Schema):
    name: str
    label: str
    type: str
    required: bool
    role: str | None
    unit: str | None
    minimum: int | None
    maximum: int | None
    step: int | None
    min_length: int | None
    max_length: int | None
    pattern: str | None
    choices: list[str] | None
    default: str | None
    help: str


class DefinitionDetailOut(DefinitionOut):
    parameters: list[ParameterOut]


class CatalogOut(Schema):
    items: list[DefinitionOut]
    stale: bool = Field(description="True when IES did not answer and this is the last known catalog.")


class PolicyOut(Schema):
    id: int
    service_id: str
    kind: str = Field(description="one_off (a boost or a single change), weekly (a calendar) or autoscale.")
    state: str = Field(description="active, paused or ended.")
    name: str
    rules: str = Field(description="The policy in words, in the caller's language.")
    spec: dict[str, Any]
    needs_attention: bool
    note: str
    created_at: datetime
    next_change_at: datetime | None
    next_change_kbps: int | None


class TrafficOut(Schema):
    connection: str
    range: dict[str, Any]
    tz: dict[str, Any]
    unit: dict[str, Any]
    t0: int
    k: list[int]
    in_: list[int | None] = Field(alias="in")
    out: list[int | None]
    bw: list[list[int]]
    points: int
    shown: int
    width: int
    downsampled: bool
    bucket_s: int
    bucket_text: str
    empty: bool
    gone: bool
    notes: list[Any]


class OneOffPolicyIn(Input):
    """A planned change ("250 Mbit/s at Friday 18:00"), and with ``revert_at`` a boost (back at that time)."""

    service_id: str = Field(pattern=IES_ID)
    bandwidth_kbps: int = Field(gt=0, le=100_000_000, description="The bandwidth at ``at``, kbit/s (whole Mbit/s).")
    at: datetime = Field(description="When, ISO 8601 with an offset; at least a minute ahead.")
    revert_at: datetime | None = Field(None, description="When to go back to today's bandwidth (a boost).")
    name: str = Field("", max_length=80)

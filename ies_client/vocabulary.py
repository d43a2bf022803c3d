"""IES's fixed words: service kinds and list keys, statuses, operation kinds and results, traffic
metrics and directions, and the roles of a template's parameters.

``StrEnum``s, so a member *is* its wire string: it compares equal to it, hashes like it (a dict
keyed by members answers a plain string), and ``json.dumps``/``str`` give the wire string back.
A word IES sends that is not listed here is kept as IES spelled it (``parse`` returns the plain
string), never an error: a newer IES may know more statuses than this client does.

Plain Python: no Django import. The portal reads these through ``ies_client.models``.
"""

from __future__ import annotations

import enum
import re
from typing import Self

__all__ = [
    "CONNECTION_NAME_PARAMETER",
    "KBPS_UNIT",
    "ActiveStatus",
    "DefinitionStatus",
    "Direction",
    "ListKey",
    "Metric",
    "OperationKind",
    "OperationProgress",
    "OperationResult",
    "ParameterRole",
    "ServiceKind",
    "ServiceStatus",
    "in_progress",
    "parameter_role",
]


class _Word(enum.StrEnum):
    @classmethod
    def parse(cls, value: object) -> Self | str:
        """The member spelled ``value``, or ``value`` as text when this client does not know it."""
        text = "" if value is None else str(value)
        try:
            return cls(text)
        except ValueError:
            return text


class ListKey(_Word):
    """Where a service's connection entry sits inside its ``parameters`` on the wire."""

    SITE2DC = "Site2DCList"
    SITE2SITE = "Site2SiteList"


class ServiceKind(enum.StrEnum):
    """The two CloudVPN service types IES offers."""

    SITE2DC = "Site2DC"
    SITE2SITE = "Site2Site"

    @property
    def list_key(self) -> ListKey:
        """The key of the connection list inside a service's parameters (``Site2DCList``)."""
        return ListKey(f"{self.value}List")

    @classmethod
    def parse(cls, *candidates: object) -> ServiceKind | None:
        """The kind from the first candidate that names one ("Site2DC", "site2site",
        "Site2DCList"…); None when none does (OPEN-O's ``serviceType`` is "CloudVPN", not a kind)."""
        for c in candidates:
            if not isinstance(c, str):
                continue
            s = c.strip().lower()
            if s.endswith("list"):
                s = s[:-4]
            for kind in cls:
                if s == kind.value.lower():
                    return kind
        return None


class DefinitionStatus(_Word):
    """A catalog definition's ``status``: only an active one may be ordered."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    DELETE_PENDING = "delete pending"


class ServiceStatus(_Word):
    """A service's ``status``: OPEN-O's words first, then spellings other IES versions use."""

    COMPLETED = "Completed"
    CREATE_IN_PROGRESS = "CreateInProgress"
    UPDATE_IN_PROGRESS = "UpdateInProgress"
    DELETE_IN_PROGRESS = "DeleteInProgress"
    ACTIVATE_IN_PROGRESS = "ActivateInProgress"
    DEACTIVATE_IN_PROGRESS = "DeactivateInProgress"
    ACTIVATE = "Activate"
    DEACTIVATE = "Deactivate"
    FAILED = "Failed"
    CREATE_FAILED = "CreateFailed"
    DELETED = "Deleted"
    DELETING = "Deleting"
    CREATING = "Creating"
    UPDATING = "Updating"


class ActiveStatus(_Word):
    """A service's ``active_status`` (``Inactive``: another IES's spelling of ``Deactive``)."""

    ACTIVE = "Active"
    DEACTIVE = "Deactive"
    ACTIVATE_IN_PROGRESS = "ActivateInProgress"
    DEACTIVATE_IN_PROGRESS = "DeactivateInProgress"
    INACTIVE = "Inactive"


IN_PROGRESS_SUFFIX = "InProgress"


def in_progress(status: str) -> bool:
    """A ``status`` or ``active_status`` that says IES is still working (``…InProgress``),
    including such words this client does not list."""
    return status.endswith(IN_PROGRESS_SUFFIX)


class OperationKind(_Word):
    """What an operation does (its ``operation`` field)."""

    CREATE = "Create"
    UPDATE = "Update"
    DELETE = "Delete"
    ACTIVATE = "Activate"
    DEACTIVATE = "Deactivate"


class OperationProgress(_Word):
    """An operation's ``progress``: IES gives no percentage, only these two."""

    IN_PROGRESS = "inprogress"
    DONE = "done"


class OperationResult(_Word):
    """An operation's ``result`` once done (None on the wire while it runs)."""

    SUCCESS = "success"
    FAILED = "failed"


class Metric(_Word):
    """The monitoring metric of a connection: the rate (bit/s) or the utilisation (percent)."""

    TRAFFIC_RATE = "traffic-rate"
    BANDWIDTH_UTILIZATION = "bandwidth-utilization"

    @property
    def unit(self) -> str:
        """The unit the simulator answers in when a series names none."""
        return "%" if self is Metric.BANDWIDTH_UTILIZATION else "bit/s"


class Direction(_Word):
    """The direction of a traffic series."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


KBPS_UNIT = "kbit/s"  # the unit of a bandwidth parameter (``Bandwidth`` is in kbit/s on the wire)

# IES's name of the connection's name. People who work with IES (and the deck) call the connection's
# name by it, so pages may show it as a label; code finds the parameter by its role, not by this name.
CONNECTION_NAME_PARAMETER = "CloudVpnName"


class ParameterRole(enum.StrEnum):
    """What a template parameter is for, whatever IES calls it: the portal labels, checks and
    reads parameters by role, never by their IES names."""

    CONNECTION_NAME = "connection_name"  # CloudVpnName: names the connection in monitoring
    BANDWIDTH = "bandwidth"  # Bandwidth, in kbit/s
    VPC_ID = "vpc_id"
    VNI = "vni"
    SUBNET_ADDRESS = "subnet_address"  # cidr, cidr_A, cidr_B
    SUBNET_PREFIX = "subnet_prefix"  # cidrBlockSize, cidrBlockSize_A, cidrBlockSize_B
    CPE_SITE = "cpe_site"
    CPE_MODEL = "cpe_model"
    CPE_POSITION = "cpe_position"
    CPE_POP = "cpe_pop"
    SERIAL_NUMBER = "serial_number"  # an equipment serial number (ESN): a CPE's when it has a side
    OTHER = "other"


_ROLE_BY_NAME = {
    CONNECTION_NAME_PARAMETER: ParameterRole.CONNECTION_NAME,
    "Bandwidth": ParameterRole.BANDWIDTH,
    "VPC_ID": ParameterRole.VPC_ID,
    "VNI": ParameterRole.VNI,
    "cidr": ParameterRole.SUBNET_ADDRESS,
    "cidrBlockSize": ParameterRole.SUBNET_PREFIX,
}
_CPE_ROLES = {
    "Site": ParameterRole.CPE_SITE,
    "Type": ParameterRole.CPE_MODEL,
    "ESN": ParameterRole.SERIAL_NUMBER,
    "Position": ParameterRole.CPE_POSITION,
    "POP": ParameterRole.CPE_POP,
}
# The deck names the CPE of a site ``CPE_A_*``; the second site of a Site2Site is ``CPE_B_*``, and
# its subnets ``cidr_A``/``cidr_B`` (see known_fields).
_CPE_RE = re.compile(r"CPE_([AB])_(\w+)")
_SIDED_SUBNET_RE = re.compile(r"(cidr|cidrBlockSize)_([AB])")


def parameter_role(name: str) -> tuple[ParameterRole, str | None]:
    """The role of the template parameter called ``name`` and the side ("A", "B") it belongs to,
    None when it belongs to no side (a Site2DC's single site, the connection itself)."""
    role = _ROLE_BY_NAME.get(name)
    if role is not None:
        return role, None
    match = _CPE_RE.fullmatch(name)
    if match and match.group(2) in _CPE_ROLES:
        return _CPE_ROLES[match.group(2)], match.group(1)
    match = _SIDED_SUBNET_RE.fullmatch(name)
    if match:
        return _ROLE_BY_NAME[match.group(1)], match.group(2)
    if name.endswith("ESN"):
        return ParameterRole.SERIAL_NUMBER, None
    return ParameterRole.OTHER, None

"""IES error answers.

Two shapes only: the IES error body (``exceptionId`` plus four parallel string arrays) and the
quirky 404 with an empty body that IES sends for an unknown service or an empty list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BAD_PARAM = "servicemgr.bad_param"
VALIDATE_ERROR = "servicemgr.service.parameter.validate_error"
NOT_EXIST = "servicemgr.service.not_exist"
STATUS_INPROGRESS = "servicemgr.service.status_inprogress"
STATUS_ACTIVE = "servicemgr.service.status_active"
CREATE_FAILED = "servicemgr.service.create_failed"
TEMPLATE_NOT_EXIST = "servicemgr.template.not_exist"
NOT_ACTIVATION = "servicemgr.servicePackage.not_activation"
PERMISSION_DENIED = "servicemgr.permission_denied"
SERVICE_UNAVAILABLE = "servicemgr.service_unavailable"
INTERNAL_ERROR = "servicemgr.internal_error"
WATCH_BAD_PARAM = "cloudvpnwatch.bad_param"


@dataclass(frozen=True, slots=True)
class Problem:
    """One bad field: it becomes one entry in each of the four arrays of the error body."""

    field: str
    reason: str
    value: str = ""
    advice: str = ""


def _type_for(exception_id: str) -> str:
    return "CloudVpnWatchException" if exception_id.startswith("cloudvpnwatch.") else "ServiceManagerException"


@dataclass
class IesError(Exception):
    """Raised anywhere below the router; the server turns it into an IES error answer."""

    status: int
    exception_id: str
    problems: list[Problem] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        return error_body(self.exception_id, self.problems)


def error_body(exception_id: str, problems: list[Problem]) -> dict[str, Any]:
    return {
        "exceptionId": exception_id,
        "exceptionType": _type_for(exception_id),
        "descArgs": [p.field for p in problems],
        "reasonArgs": [p.reason for p in problems],
        "detailArgs": [p.value for p in problems],
        "adviceArgs": [p.advice for p in problems],
    }


def fail(status: int, exception_id: str, field: str, reason: str, value: object = "", advice: str = "") -> IesError:
    """Shorthand for an error naming a single field."""
    return IesError(status, exception_id, [Problem(field, reason, _as_text(value), advice)])


def _as_text(value: object) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else repr(value)
    # Echoing a huge value back would bloat every error body; the first 200 characters identify it.
    return text[:200]


class EmptyNotFound(Exception):
    """IES answers 404 with an empty body for an unknown service and for an empty service list."""

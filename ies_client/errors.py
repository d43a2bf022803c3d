"""The exceptions the IES client raises: one class per thing the portal does differently.

=====================  ===========================================  ===========================
class                  when                                         the portal
=====================  ===========================================  ===========================
IESAuthError           401/403, or ``servicemgr.permission_denied``  asks an admin for a token
IESNotFound            404 (an unknown service is 404, empty body)   shows "gone", drops mirror
IESValidationError     400: names the bad fields                     puts errors on the form
IESConflict            an operation is in flight, or CreateFailed    "try again later"
                       (OPEN-O sends these as **500**: read from
                       ``exceptionId``, not the status)
IESServerError         any other 5xx                                  "IES failed", keeps state
IESUnavailable         timeout, refused/dropped connection,           retries later; reconciles
                       502/503/504 (after retries for reads)          when ``maybe_applied``
IESCircuitOpen         (an IESUnavailable) the endpoint failed N      "last known"; nothing
                       times in a row: not asked for a while          was sent
IESProtocolError       an answer that is not the JSON IES sends       reports a fault
=====================  ===========================================  ===========================

Messages are plain English a tenant can read (the portal translates them); they never contain a
token or a bearer: every message passes through :func:`ies_client.redact.redact`. The exceptions
are picklable and can be rebuilt from their message alone (Celery stores failures that way).
"""

from __future__ import annotations

from typing import Any

from ies_client.redact import redact

__all__ = [
    "IESAuthError",
    "IESCircuitOpen",
    "IESConflict",
    "IESError",
    "IESNotFound",
    "IESProtocolError",
    "IESServerError",
    "IESUnavailable",
    "IESValidationError",
]


class IESError(Exception):
    """Base of every error the client raises.

    Attributes:
        message: what went wrong, readable by a tenant.
        status: the HTTP status IES answered, or None when there was no answer.
        exception_id: IES's ``exceptionId`` (e.g. ``servicemgr.service.not_exist``), if any.
        advice: IES's ``adviceArgs`` joined into one sentence, or None.
        maybe_applied: True when a write may have taken effect although it failed on our side
            (the answer was lost): the caller must reconcile by reading IES, not repeat blindly.
        method, path: the request, for logs (path without query string; never carries secrets).
    """

    default_message = "IES answered with an error."

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        exception_id: str | None = None,
        advice: str | None = None,
        maybe_applied: bool = False,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        message = redact(message or self.default_message)
        super().__init__(message)
        self.message = message
        self.status = status
        self.exception_id = exception_id
        self.advice = redact(advice) if advice else None
        self.maybe_applied = maybe_applied
        self.method = method
        self.path = path

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        parts = [repr(self.message)]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.exception_id:
            parts.append(f"exception_id={self.exception_id!r}")
        if self.maybe_applied:
            parts.append("maybe_applied=True")
        return f"{type(self).__name__}({', '.join(parts)})"


class IESAuthError(IESError):
    """IES refused the tenant's credentials (401/403): the token expired or is wrong."""

    default_message = "IES refused the tenant's credentials: the token may have expired."


class IESNotFound(IESError):
    """The thing asked for does not exist for this tenant (another tenant's service is 404 too)."""

    default_message = "IES does not know this object."


class IESValidationError(IESError):
    """IES rejected the request's values (400).

    Attributes:
        field_errors: field name → reasons, from ``descArgs[i]``/``reasonArgs[i]``. Errors that
            name no field are under ``""``.
        values: field name → the value IES received (``detailArgs[i]``), when it said.
        field_advice: field name → what to do (``adviceArgs[i]``), when it said.
    """

    default_message = "IES rejected some of the values."

    def __init__(
        self,
        message: str | None = None,
        *,
        field_errors: dict[str, list[str]] | None = None,
        values: dict[str, str] | None = None,
        field_advice: dict[str, list[str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.field_errors = {k: [redact(r) for r in v] for k, v in (field_errors or {}).items()}
        self.values = {k: redact(v) for k, v in (values or {}).items()}
        self.field_advice = {k: [redact(a) for a in v] for k, v in (field_advice or {}).items()}


class IESConflict(IESError):
    """The service's state forbids the change: an operation is in flight, or it is CreateFailed."""

    default_message = "The service is busy with another operation or in a state that forbids this change."


class IESServerError(IESError):
    """IES failed (a 5xx that is not a conflict and not a gateway error)."""

    default_message = "IES failed to handle the request."


class IESUnavailable(IESError):
    """IES could not be reached or did not answer in time (after retries, for reads)."""

    default_message = "IES is not reachable at the moment."


class IESCircuitOpen(IESUnavailable):
    """Not sent: this IES endpoint failed (timeouts, refused connections, 5xx) too many times in a
    row, so the client stopped asking it for a while (see :mod:`ies_client.breaker`).

    Attributes:
        retry_after: seconds until a trial request may go again.
    """

    default_message = "IES is not answering, so the portal stopped asking it for a short while."

    def __init__(self, message: str | None = None, *, retry_after: float = 0.0, **kwargs: Any) -> None:
        kwargs["maybe_applied"] = False  # refused before anything left this process
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class IESProtocolError(IESError):
    """IES answered something that is not the JSON shape it is known to send."""

    default_message = "IES sent an answer the portal does not understand."

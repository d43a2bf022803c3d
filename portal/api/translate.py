"""IES's failures and the portal's refusals, as problem details."""

from typing import Any

from ies_client.errors import (
    IESAuthError,
    IESConflict,
    IESError,
    IESNotFound,
    IESUnavailable,
    IESValidationError,
)
from portal.api.problems import ApiProblem
from portal.tenants.ies import TenantNotConfigured
from portal.tenants.ies_errors import describe


def ies_problem(exc: IESError | TenantNotConfigured) -> ApiProblem:
    """IES refused or failed: its reason (``ies_reason``), and what to do, in the caller's words."""
    trouble = describe(exc)
    detail = f"{trouble.problem} {trouble.advice}"
    reason: dict[str, Any] = {"ies_reason": exc.message} if isinstance(exc, IESError) and exc.message else {}
    if isinstance(exc, TenantNotConfigured | IESAuthError):
        return ApiProblem(503, "ies-credentials", trouble.problem, detail, **reason)
    if isinstance(exc, IESUnavailable):
        return ApiProblem(503, "ies-unavailable", trouble.problem, detail, headers={"Retry-After": "60"},
                          retry_after=60, **reason)
    if isinstance(exc, IESNotFound):
        return ApiProblem(404, "ies-not-found", trouble.problem, detail, **reason)
    if isinstance(exc, IESValidationError):
        return ApiProblem(422, "ies-refused", trouble.problem, detail, **reason)
    if isinstance(exc, IESConflict):
        return ApiProblem(409, "ies-conflict", trouble.problem, detail, **reason)
    return ApiProblem(502, "ies-error", trouble.problem, detail, **reason)

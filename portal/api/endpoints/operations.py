"""/operations: what the tenant asked IES to do, and how it went; a long-poll wait."""

import time

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router

from portal.api.auth import caller
from portal.api.models import Scope
from portal.api.present import next_page_url, operation_out
from portal.api.problems import not_found
from portal.api.schemas import Input, OperationOut, OperationPage, Problem, RowId
from portal.operations.models import IN_FLIGHT_STATES, Operation

router = Router(tags=["operations"])

ERRORS = {401: Problem, 403: Problem, 404: Problem, 422: Problem, 429: Problem}
WAIT_MAX_S = 30
WAIT_STEP_S = 0.5


class OperationFilters(Input):
    service_id: str = Field("", max_length=64, description="Only this service's operations.")
    state: str = Field("", max_length=16, description="Only operations in this state.")
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000)


def _of_tenant(request: HttpRequest, operation_id: int) -> Operation:
    op = (Operation.objects.filter(tenant=caller(request).tenant, pk=operation_id)
          .select_related("requested_by").first())
    if op is None:
        raise not_found(_("This tenant has no operation with this id."))
    return op


@router.get("", response={200: OperationPage, **ERRORS}, url_name="operation_list", summary="The tenant's operations")
def operation_list(request: HttpRequest, filters: Query[OperationFilters]) -> OperationPage:
    who = caller(request)
    who.require(Scope.READ)
    ops = Operation.objects.filter(tenant=who.tenant).select_related("requested_by").order_by("-created_at", "-id")
    if filters.service_id:
        ops = ops.filter(ies_service_id=filters.service_id)
    if filters.state:
        ops = ops.filter(state=filters.state)
    count = ops.count()
    rows = ops[filters.offset:filters.offset + filters.limit]
    next_url = next_page_url(request, offset=filters.offset, limit=filters.limit, count=count)
    return OperationPage(count=count, limit=filters.limit, offset=filters.offset, next=next_url,
                         items=[operation_out(op) for op in rows])


@router.get("/{operation_id}", response={200: OperationOut, **ERRORS}, url_name="operation_get",
            summary="One operation")
def operation_get(request: HttpRequest, operation_id: RowId) -> OperationOut:
    caller(request).require(Scope.READ)
    return operation_out(_of_tenant(request, operation_id))


@router.get("/{operation_id}/wait", response={200: OperationOut, **ERRORS}, url_name="operation_wait",
            summary="Wait for an operation to end (long poll)")
def operation_wait(request: HttpRequest, operation_id: RowId,
                   timeout: float = Query(20, ge=0, le=WAIT_MAX_S,  # noqa: B008 - ninja's way
                                          description="Seconds to wait at most; the answer says done or not.")
                   ) -> OperationOut:
    caller(request).require(Scope.READ)
    op = _of_tenant(request, operation_id)
    deadline = time.monotonic() + timeout
    while op.state in IN_FLIGHT_STATES and time.monotonic() < deadline:
        time.sleep(min(WAIT_STEP_S, max(0.0, deadline - time.monotonic())))
        op = _of_tenant(request, operation_id)
    return operation_out(op)

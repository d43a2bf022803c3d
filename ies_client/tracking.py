"""Inferring an operation's outcome from its service, for an IES without the operations endpoint.

The operations endpoint comes from OPEN-O; the deck never shows it, so a real IES may lack it (it
answers 404 with an empty body) and the deck's own way to follow a change is to read the service
until its status settles. This module is that reading, as one pure function of what the service
looks like now, so that it is easy to test and the client's network code stays out of it.

State machine, by the operation's kind (``in progress`` = ``status`` or ``active_status`` ends in
``InProgress``):

==========  ===================  ===============================  ===============================
kind        service gone (404)   in progress                      settled
==========  ===================  ===============================  ===============================
Create      failed (rolled back) running                          CreateFailed/Failed → failed,
                                                                  else success
Update      failed               running                          Failed → failed; bandwidth ≠
                                                                  expected → failed; else success
Delete      success              running                          failed (it is still there)
Activate    failed               running                          Active → success, else failed
Deactivate  failed               running                          Deactive → success, else failed
==========  ===================  ===============================  ===============================

Caveat: without the endpoint nothing ties a status to *this* operation. An IES that is slow to
move the status after its 202 would look "settled" at the first poll. Give an Update its
``expected_bandwidth_kbps`` (then "success" means the bandwidth really is the new one), and let the
caller's first poll come a few seconds after the 202.
"""

from __future__ import annotations

from ies_client.models import ActiveStatus, Operation, OperationKind, OperationResult, Service, ServiceStatus

__all__ = ["operation_from_service"]


def operation_from_service(
    service: Service | None,
    *,
    service_id: str,
    operation_id: str,
    kind: OperationKind | str,
    expected_bandwidth_kbps: int | None = None,
) -> Operation:
    """The operation as the service's current state tells it (``service`` None: IES said 404)."""

    def result(done: bool, outcome: OperationResult | None = None, reason: str = "") -> Operation:
        return Operation(
            operation_id=operation_id, service_id=service_id, kind=kind, content="",
            done=done, result=outcome, reason=reason,
        )

    success, failed = OperationResult.SUCCESS, OperationResult.FAILED

    running = result(False)
    if service is None:
        if kind == OperationKind.DELETE:
            return result(True, success)
        if kind == OperationKind.CREATE:
            return result(True, failed, "The service is gone: its creation failed and was rolled back.")
        return result(True, failed, "The service no longer exists.")
    if service.in_progress:
        return running

    if kind == OperationKind.CREATE:
        if service.failed:
            return result(True, failed, "The service could not be created.")
        return result(True, success)
    if kind == OperationKind.UPDATE:
        if service.status == ServiceStatus.FAILED:
            return result(True, failed, "The change could not be applied.")
        if expected_bandwidth_kbps is not None and service.bandwidth_kbps != expected_bandwidth_kbps:
            return result(True, failed, "The bandwidth did not change.")
        return result(True, success)
    if kind == OperationKind.DELETE:
        return result(True, failed, "The service still exists: it could not be deleted.")
    if kind == OperationKind.ACTIVATE:
        if service.active_status == ActiveStatus.ACTIVE:
            return result(True, success)
        return result(True, failed, "The service could not be activated.")
    if kind == OperationKind.DEACTIVATE:
        if service.active_status == ActiveStatus.DEACTIVE:
            return result(True, success)
        return result(True, failed, "The service could not be deactivated.")
    # An operation kind this client does not know: settled is all it can say.
    if service.status == ServiceStatus.FAILED:
        return result(True, failed, "The operation failed.")
    return result(True, success)

"""Reads about operations: expectations from history, what is in flight, what finished."""

from django.conf import settings
from django.db.models import QuerySet

from portal.operations import timing
from portal.operations.models import HALTED_STATES, IN_FLIGHT_STATES, Operation, OperationState


def expectation_for(*, kind: str, definition_id: str) -> timing.Expectation:
    """Median and p90 of the last successes of this kind and definition (else the default)."""
    rows = (
        Operation.objects.filter(kind=kind, definition_id=definition_id, state=OperationState.SUCCEEDED,
                                 submitted_at__isnull=False, finished_at__isnull=False)
        .order_by("-finished_at")
        .values_list("submitted_at", "finished_at")[: settings.OPERATION_HISTORY_SIZE]
    )
    return timing.expectation_from([(end - start).total_seconds() for start, end in rows])


def operations_in_flight_count(*, tenant) -> int:
    return Operation.objects.filter(tenant=tenant, state__in=[*IN_FLIGHT_STATES, *HALTED_STATES]).count()


def operations_unseen_count(*, tenant) -> int:
    return Operation.objects.filter(tenant=tenant, finished_at__isnull=False, seen_at__isnull=True).count()


def operation_list_for_tenant(*, tenant) -> QuerySet[Operation]:
    return Operation.objects.filter(tenant=tenant).select_related("requested_by", "service").order_by("-created_at")


def operation_for_tenant(*, tenant, pk: int) -> Operation | None:
    return operation_list_for_tenant(tenant=tenant).filter(pk=pk).first()

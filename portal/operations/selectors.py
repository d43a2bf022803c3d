"""Reads about operations: expectations from history, what is in flight, what finished."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Count, Q, QuerySet

from portal.operations import timing
from portal.operations.models import HALTED_STATES, IN_FLIGHT_STATES, Operation, OperationState

if TYPE_CHECKING:
    from portal.services.models import Service
    from portal.tenants.models import Tenant


def expectation_for(*, kind: str, definition_id: str) -> timing.Expectation:
    """Median and p90 of the last successes of this kind and definition (else the default)."""
    rows = (
        Operation.objects.filter(kind=kind, definition_id=definition_id, state=OperationState.SUCCEEDED,
                                 submitted_at__isnull=False, finished_at__isnull=False)
        .order_by("-finished_at")
        .values_list("submitted_at", "finished_at")[: settings.OPERATION_HISTORY_SIZE]
    )
    return timing.expectation_from([(end - start).total_seconds() for start, end in rows if start and end])


def operation_lookup() -> QuerySet[Operation]:
    """Operations as their pages show them, for the access chokepoint (which scopes them to the
    request's tenant)."""
    return Operation.objects.select_related("requested_by", "service").order_by("-created_at")


def operation_list_for_tenant(*, tenant: Tenant) -> QuerySet[Operation]:
    return operation_lookup().filter(tenant=tenant)


def operation_running_for_service(*, service: Service) -> Operation | None:
    """The service's newest operation still in flight at IES (the one its pages poll), if any: the
    newest, as the service page picks it, so that its notice and the page name the same one."""
    return service.operations.filter(state__in=IN_FLIGHT_STATES).order_by("-created_at").first()


@dataclass(frozen=True)
class Badge:
    """What the header badge says: operations running at IES, stopped ones, finished ones not yet seen."""

    running: int = 0
    halted: int = 0
    unseen: int = 0

    @property
    def polling(self) -> bool:
        # Only a running operation changes by itself; a halted one waits for a person.
        return self.running > 0


def operations_badge(*, tenant: Tenant, current: Operation | None = None) -> Badge:
    """The badge's counts in one query.

    ``current`` is the operation the page shows: it is counted from the very row the page renders,
    not read again, so the badge and the status card cannot tell two stories even when the worker
    moves the operation on between the two reads.
    """
    others = Operation.objects.filter(tenant=tenant)
    if current is not None:
        others = others.exclude(pk=current.pk)
    counts = others.aggregate(
        running=Count("pk", filter=Q(state__in=IN_FLIGHT_STATES)),
        halted=Count("pk", filter=Q(state__in=HALTED_STATES)),
        unseen=Count("pk", filter=Q(finished_at__isnull=False, seen_at__isnull=True)),
    )
    if current is not None:
        counts["running"] += current.state in IN_FLIGHT_STATES
        counts["halted"] += current.state in HALTED_STATES
        counts["unseen"] += current.finished_at is not None and current.seen_at is None
    return Badge(**counts)

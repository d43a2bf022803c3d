"""Reads about operations: expectations from history, what is in flight, what finished."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import (
    BooleanField,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from portal.operations import timing
from portal.operations.models import (
    HALTED_STATES,
    IN_FLIGHT_STATES,
    Operation,
    OperationSeen,
    OperationsSeenMark,
    OperationState,
)

if TYPE_CHECKING:
    from portal.services.models import Service
    from portal.tenants.models import Membership, Tenant


def expectation_for(*, kind: str, definition_id: str) -> timing.Expectation:
    """Median and p90 of the last successes of this kind and definition (else the default)."""
    rows = (
        Operation.objects.filter(kind=kind, definition_id=definition_id, state=OperationState.SUCCEEDED,
                                 submitted_at__isnull=False, finished_at__isnull=False)
        .order_by("-finished_at")
        .values_list("submitted_at", "finished_at")[: settings.OPERATION_HISTORY_SIZE]
    )
    return timing.expectation_from([(end - start).total_seconds() for start, end in rows if start and end])


def operation_lookup(*, reader: Membership | None = None) -> QuerySet[Operation]:
    """Operations as their pages show them, for the access chokepoint (which scopes them to the
    request's tenant). With a `reader`, each row says whether it is news to them (`is_new`), in the
    same query."""
    rows = Operation.objects.select_related("requested_by", "service").order_by("-created_at")
    news = _news_to(reader)
    return rows.annotate(is_new=ExpressionWrapper(news, output_field=BooleanField()) if news else Value(False))


def operation_list_for_tenant(*, tenant: Tenant, reader: Membership | None = None) -> QuerySet[Operation]:
    return operation_lookup(reader=reader).filter(tenant=tenant)


def _news_to(reader: Membership | None) -> Q | None:
    """Which operations are news to this person: finished after their mark (else after they joined)
    and not opened since.

    Only a role that may mark things seen has news: a read-only one (a viewer, staff seeing as the
    tenant) could never clear it, so it is shown what runs and what waits, not what is new. None:
    nothing is news.
    """
    if reader is None or not reader.can_write:
        return None
    mark = OperationsSeenMark.objects.filter(user=reader.user_id, tenant=reader.tenant_id).values("finished_up_to")[:1]
    since = Coalesce(Subquery(mark), Value(reader.created_at, output_field=DateTimeField()))
    opened = OperationSeen.objects.filter(operation=OuterRef("pk"), user=reader.user_id)
    return Q(Q(finished_at__gt=since), ~Exists(opened))


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


def operations_badge(*, tenant: Tenant, reader: Membership | None = None, current: Operation | None = None) -> Badge:
    """The badge's counts in one query, as `reader` sees them (their own news; without a reader
    or for a read-only one, none).

    ``current`` is the operation the page shows: it is counted from the very row the page renders,
    not read again, so the badge and the status card cannot tell two stories even when the worker
    moves the operation on between the two reads. It is never news: the reader is looking at it.
    """
    others = Operation.objects.filter(tenant=tenant)
    if current is not None:
        others = others.exclude(pk=current.pk)
    news = _news_to(reader)
    counts = others.aggregate(
        running=Count("pk", filter=Q(state__in=IN_FLIGHT_STATES)),
        halted=Count("pk", filter=Q(state__in=HALTED_STATES)),
        **({"unseen": Count("pk", filter=news)} if news else {}),
    )
    if current is not None:
        counts["running"] += current.state in IN_FLIGHT_STATES
        counts["halted"] += current.state in HALTED_STATES
    return Badge(**counts)

"""Reads about operations: expectations from history, what is in flight, what finished."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.expressions import RawSQL
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
    """Median and p90 of the last successes of this kind and definition (else the default): as IES
    timed them where it did, else from the portal's submission to its noticing the end."""
    rows = (
        Operation.objects.filter(kind=kind, definition_id=definition_id, state=OperationState.SUCCEEDED,
                                 submitted_at__isnull=False, finished_at__isnull=False)
        .order_by("-finished_at")
        .values_list("submitted_at", "finished_at", "ies_duration_seconds")[: settings.OPERATION_HISTORY_SIZE]
    )
    return timing.expectation_from([ies_seconds if ies_seconds is not None else (end - start).total_seconds()
                                    for start, end, ies_seconds in rows if start and end])


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


def _badge_counts(reader: Membership | None) -> dict[str, Count]:
    """The badge's counts as aggregates over operations, as `reader` sees them (see _news_to)."""
    news = _news_to(reader)
    return {
        "running": Count("pk", filter=Q(state__in=IN_FLIGHT_STATES)),
        "halted": Count("pk", filter=Q(state__in=HALTED_STATES)),
        **({"unseen": Count("pk", filter=news)} if news else {}),
    }


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
    counts = others.aggregate(**_badge_counts(reader))
    if current is not None:
        counts["running"] += current.state in IN_FLIGHT_STATES
        counts["halted"] += current.state in HALTED_STATES
    return Badge(**counts)


# A page that reads its own rows anyway carries the badge in one of its queries instead of a query
# of its own (issue 14: at most 5 queries per page), as scalar subqueries on a row it reads once
# (badge_subqueries; read back with badge_from).
BADGE_PREFIX = "badge_"
# Stands for the outer row's service while a subquery is compiled on its own (see _badge_sql).
_OUTER_SERVICE = -914_003
_UNSTEADY = (*IN_FLIGHT_STATES, *HALTED_STATES)  # states a page may show change under it


def badge_subqueries(*, tenant: Tenant, reader: Membership | None = None,
                     unsteady_of_service: str | None = None) -> dict[str, RawSQL]:
    """The badge's counts over the tenant's operations as annotations for a query that reads one
    row per page. `unsteady_of_service`: a column of the outer row (SQL) naming a service whose
    running and stopped operations are left out (the page counts those from its own rows).

    Built by the ORM once per process and reader, then reused as SQL: building and compiling
    these subqueries cost more than the query they replace."""
    key = _reader_key(reader)
    counts = _badge_sql(connection.vendor, tenant.pk, key, unsteady_of_service is not None)
    out = {}
    for name, (sql, params) in counts.items():
        if unsteady_of_service is not None:
            sql, params = _splice(sql, params, _OUTER_SERVICE, unsteady_of_service)
        out[BADGE_PREFIX + name] = RawSQL(f"COALESCE(({sql}), 0)", params, output_field=IntegerField())
    return out


def _reader_key(reader: Membership | None) -> tuple | None:
    # What _news_to reads of the reader: none of it for a read-only one.
    return (reader.user_id, reader.tenant_id, reader.created_at) if reader is not None and reader.can_write else None


@lru_cache(maxsize=1024)
def _badge_sql(vendor: str, tenant_id: int, reader_key: tuple | None,
               unsteady_excluded: bool) -> dict[str, tuple[str, tuple]]:
    from portal.tenants.models import Membership, Role

    reader = None
    if reader_key is not None:
        user_id, member_tenant_id, created_at = reader_key
        reader = Membership(user_id=user_id, tenant_id=member_tenant_id, role=Role.MEMBER, created_at=created_at)
    operations = Operation.objects.filter(tenant_id=tenant_id)
    if unsteady_excluded:
        operations = operations.exclude(service_id=_OUTER_SERVICE, state__in=_UNSTEADY)
    compiled = {}
    for name, count in _badge_counts(reader).items():
        query = operations.order_by().values("tenant").annotate(n=count).values("n").query
        sql, params = query.sql_with_params()
        compiled[name] = (sql, tuple(params))
    return compiled


def _splice(sql: str, params: tuple, placeholder: object, column: str) -> tuple[str, tuple]:
    """Put `column` (SQL) where the parameter `placeholder` was."""
    parts = sql.split("%s")
    assert len(parts) == len(params) + 1, "a literal %s in the SQL"
    out_sql, out_params = parts[0], []
    for param, part in zip(params, parts[1:], strict=True):
        if param == placeholder:
            out_sql += column + part
        else:
            out_sql += "%s" + part
            out_params.append(param)
    return out_sql, tuple(out_params)


def badge_from(*rows: object, extra: Badge | None = None) -> Badge:
    """The badge from the annotations of badge_subqueries on `rows`, plus `extra`."""
    counts = {"running": 0, "halted": 0, "unseen": 0}
    for row in rows:
        for name in counts:
            counts[name] += getattr(row, BADGE_PREFIX + name, 0) or 0
    if extra is not None:
        counts = {name: value + getattr(extra, name) for name, value in counts.items()}
    return Badge(**counts)


def badge_of(operations: list[Operation]) -> Badge:
    """What running and stopped operations among `operations` add to the badge (read by the page)."""
    return Badge(running=sum(op.state in IN_FLIGHT_STATES for op in operations),
                 halted=sum(op.state in HALTED_STATES for op in operations))

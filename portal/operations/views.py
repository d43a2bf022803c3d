from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_aware
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from portal.core.http import SignedInRequest
from portal.operations.presenters import badge_oob, present
from portal.operations.selectors import operation_list_for_tenant, operation_lookup, operations_badge
from portal.operations.services import operation_mark_seen, operation_recheck, operations_mark_all_seen
from portal.tenants.access import (
    require_membership,
    require_writer,
    tenant_object_for_writer_or_404,
    tenant_object_or_404,
)


@require_GET
@vary_on_headers("HX-Request")  # a page and its fragment share a URL: caches keep them apart
def operation_detail(request: SignedInRequest, pk: int) -> HttpResponse:
    membership = require_membership(request)
    _, op = tenant_object_or_404(request, operation_lookup(reader=membership), pk=pk)
    if getattr(op, "is_new", False):  # annotated by operation_lookup
        # The outcome is on this page: seen by this person (only: "seen" is per person). Never
        # for a read-only role, whose GETs write nothing (nothing is news to them anyway).
        operation_mark_seen(op=op, user=request.user)
    view = present(op)
    # The badge is counted with this row as the card shows it: one truth per response.
    badge = operations_badge(tenant=membership.tenant, reader=membership, current=op)
    if request.htmx:
        response = render(request, "operations/operation_detail.html#status", {"view": view, "membership": membership})
        response.write(badge_oob(request, badge, carried=view.polling))
        return response
    return render(request, "operations/operation_detail.html", {
        "view": view, "membership": membership, "ops_badge": badge, "ops_badge_carried": view.polling})


@require_POST
def operation_recheck_view(request: HttpRequest, pk: int) -> HttpResponse:
    _, op = tenant_object_for_writer_or_404(request, operation_lookup(), pk=pk)
    operation_recheck(op=op, request=request)
    return redirect("operations:detail", pk=op.pk)


IDLE_LIST_POLL_SECONDS = 30


@require_GET
@vary_on_headers("HX-Request")  # the page and its refreshing listing share a URL
def operation_list(request: SignedInRequest) -> HttpResponse:
    membership = require_membership(request)
    ops = list(operation_list_for_tenant(tenant=membership.tenant, reader=membership)[:100])
    views = [present(op) for op in ops]
    polling = any(view.polling for view in views)
    # As often as the operation nearest its end asks on its own page; rarely when nothing runs.
    poll_seconds = min((view.poll_seconds for view in views if view.polling), default=IDLE_LIST_POLL_SECONDS)
    context = {
        "views": views, "unseen": sum(1 for op in ops if getattr(op, "is_new", False)),
        # "Mark all as read" marks what this page showed, not what finished after it was drawn.
        "drawn_at": timezone.now().isoformat(),
        "polling": polling,
        "poll_seconds": poll_seconds,
    }
    # The header badge counted in the same response as the rows: they cannot disagree.
    badge = operations_badge(tenant=membership.tenant, reader=membership)
    if request.htmx:
        response = render(request, "operations/operation_list.html#listing", context)
        response.write(badge_oob(request, badge, carried=polling))
        return response
    return render(request, "operations/operation_list.html",
                  {**context, "ops_badge": badge, "ops_badge_carried": polling})


@require_POST
def operations_mark_seen(request: SignedInRequest) -> HttpResponse:
    """This person's "Mark all as read": a change, so a read-only role is refused (403)."""
    membership = require_writer(request)
    operations_mark_all_seen(tenant=membership.tenant, user=request.user,
                             up_to=_drawn_at(request.POST.get("drawn_at", "")))
    return redirect("operations:list")


def _drawn_at(raw: str) -> datetime:
    """When the list was drawn, as the form says; never later than now (a time from the future
    would mark as seen what has not finished yet). A time that cannot be one (well-formed but no
    such day, or year 1 at +23:00, before the first representable instant) reads as now."""
    now = timezone.now()
    try:
        drawn = parse_datetime(raw)
        if drawn is None or not is_aware(drawn):
            return now
        return min(drawn.astimezone(UTC), now)
    except (ValueError, OverflowError):
        return now


@require_GET
@vary_on_headers("HX-Request")
def operation_badge(request: HttpRequest) -> HttpResponse:
    membership = require_membership(request)
    return render(request, "base.html#ops-badge",
                  {"ops_badge": operations_badge(tenant=membership.tenant, reader=membership)})

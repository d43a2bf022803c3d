from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from portal.core.http import HtmxRequest
from portal.operations.presenters import badge_oob, present
from portal.operations.selectors import operation_list_for_tenant, operation_lookup, operations_badge
from portal.operations.services import operation_mark_seen, operation_recheck
from portal.tenants.access import require_membership, tenant_object_for_writer_or_404, tenant_object_or_404


@require_GET
@vary_on_headers("HX-Request")  # a page and its fragment share a URL: caches keep them apart
def operation_detail(request: HtmxRequest, pk: int) -> HttpResponse:
    membership, op = tenant_object_or_404(request, operation_lookup(), pk=pk)
    if op.finished_at and op.seen_at is None and op.requested_by_id == request.user.pk:
        # Seen in this very render: the badge below already counts it as seen.
        if operation_mark_seen(tenant=membership.tenant, operation_ids=[op.pk]):
            op.seen_at = timezone.now()
    view = present(op)
    # The badge is counted with this row as the card shows it: one truth per response.
    badge = operations_badge(tenant=membership.tenant, current=op)
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


@require_GET
def operation_list(request: HttpRequest) -> HttpResponse:
    membership = require_membership(request)
    ops = list(operation_list_for_tenant(tenant=membership.tenant)[:100])
    views = [present(op) for op in ops]
    return render(request, "operations/operation_list.html",
                  {"views": views, "unseen": sum(1 for op in ops if op.finished_at and not op.seen_at)})


@require_POST
def operations_mark_seen(request: HttpRequest) -> HttpResponse:
    membership = require_membership(request)
    operation_mark_seen(tenant=membership.tenant)
    return redirect("operations:list")


@require_GET
@vary_on_headers("HX-Request")
def operation_badge(request: HttpRequest) -> HttpResponse:
    membership = require_membership(request)
    return render(request, "base.html#ops-badge", {"ops_badge": operations_badge(tenant=membership.tenant)})

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from portal.audit.exporting import audit_csv_lines
from portal.audit.forms import AuditFilterForm
from portal.audit.models import Outcome
from portal.audit.presenters import action_choices
from portal.audit.selectors import audit_event_list, audit_known_actions
from portal.audit.services import audit_record
from portal.tenants.permissions import staff_required

PAGE_SIZE = 50


@staff_required
@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    events = audit_event_list(filters=form.to_filter()).select_related("operation")
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "audit/audit_list.html", {
        "form": form, "page": page, "query": query.urlencode(),
        "action_choices": action_choices(audit_known_actions(), request.GET.get("action", "")),
    })


@staff_required
@require_GET
def audit_export(request: HttpRequest) -> StreamingHttpResponse:
    form = AuditFilterForm(request.GET or None)
    filters = form.to_filter()
    audit_record(action="audit.export", request=request, outcome=Outcome.SUCCEEDED,
                 message=request.GET.urlencode()[:1000])
    response = StreamingHttpResponse(audit_csv_lines(audit_event_list(filters=filters),
                                                     language=request.LANGUAGE_CODE),
                                     content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response

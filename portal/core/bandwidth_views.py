"""The line beside a bandwidth box that says how the portal reads it ("= 1 Gbit/s"), live.

The widget (portal.core.bandwidth_input) asks this as the person types; the answer is a fragment for its
<output>. It reads nothing of a tenant's: login (the middleware) is all it needs.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from portal.core.bandwidth_input import read_for_display


def _bound(raw: str | None) -> int | None:
    # The bounds come from the widget's own markup; a tampered one only changes this hint.
    return int(raw) if raw and raw.isascii() and raw.isdigit() and len(raw) <= 12 else None


@require_GET
def interpret(request: HttpRequest) -> HttpResponse:
    field = request.GET.get("field", "bandwidth")
    reading = read_for_display(request.GET.get(f"{field}_0", "")[:20_000], request.GET.get(f"{field}_1", ""),
                               minimum=_bound(request.GET.get("min")), maximum=_bound(request.GET.get("max")),
                               step=_bound(request.GET.get("step")))
    response = render(request, "core/bandwidth_widget.html#reading", {"reading": reading})
    response["Cache-Control"] = "private, no-store"
    return response

"""Small helpers for HTMX requests."""

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def vary_on_htmx(response: HttpResponse) -> HttpResponse:
    # A page and its fragment share a URL: caches must keep them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response

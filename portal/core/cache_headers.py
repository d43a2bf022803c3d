"""Nothing a signed-in person sees is kept by a browser or a proxy.

Every page, HTMX fragment, JSON answer and CSV or spreadsheet export of a signed-in user carries a
tenant's (or staff's) data: after logging out on a shared computer, the back button or the disk
cache must not show it again, and no shared cache may hand it to someone else. Static files never
get here (WhiteNoise answers them earlier in the chain); the login page has Django's never_cache.

One exception: a whole page answering a form POST (a form refused, shown again with what was typed)
is `private, no-cache`. A POST answer is never reused for a new request anyway; the browser keeps
it only for the back button, and with `no-store` going back to it (from the wizard's review, say)
fails with "Confirm Form Resubmission" instead of showing the form as typed. A view whose POST
answer must not be kept at all (a generated password) says `no-store` itself, and keeps it.
"""

from collections.abc import Callable

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.cache import patch_cache_control


class NoStoreWhenSignedInMiddleware:
    """`Cache-Control: no-store, private` on every response to a signed-in user.

    Decided on the way out: the user is the one the request ended with, so the answer to a login
    POST (a redirect into the portal) is covered, and the one to a logout is not. What a view set
    itself (`no-cache`, `max-age=0`) is kept beside it; a `public` one gives way to `private`.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if _is_form_answer_page(request, response):
                patch_cache_control(response, no_cache=True, private=True)
            else:
                patch_cache_control(response, no_store=True, private=True)
        return response


def _is_form_answer_page(request: HttpRequest, response: HttpResponseBase) -> bool:
    return (request.method == "POST" and "HX-Request" not in request.headers
            and not 300 <= response.status_code < 400
            and response.get("Content-Type", "").startswith("text/html"))

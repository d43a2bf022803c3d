"""Idempotency-Key on every write: the same key and request replay the first answer for 24 h.

The key is claimed by a unique row before the write runs: a second request with it while the first
runs is a 409; with another method, path, query or body a 422; after it, the kept answer, marked
``Idempotent-Replayed: true``. An answer the portal failed to give (5xx, or an exception) is not
kept, so the key can be sent again.
"""

import hashlib
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from portal.api.auth import caller
from portal.api.problems import ApiProblem, conflict, problem_response
from portal.api.services import idempotency_claim, idempotency_keep, idempotency_release

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    for part in (request.method or "", request.path, request.META.get("QUERY_STRING", "")):
        digest.update(part.encode() + b"\0")
    digest.update(request.body)
    return digest.hexdigest()


def _answer(request: HttpRequest, produce: Callable[[], HttpResponse]) -> HttpResponse:
    try:
        return produce()
    except ApiProblem as problem:
        return problem_response(problem, request)


def run_write(request: HttpRequest, produce: Callable[[], HttpResponse]) -> HttpResponse:
    key = request.headers.get(HEADER)
    if key is None:
        return _answer(request, produce)
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise ApiProblem(422, "idempotency-key-invalid", _("The request is not valid"),
                         _("Idempotency-Key must be 1 to 255 printable ASCII characters (a UUID is usual)."))
    who = caller(request)
    scope: dict[str, Any] = {"user_id": who.token.user_id, "tenant_id": who.tenant.pk, "key": key}
    mark = fingerprint(request)
    held = idempotency_claim(**scope, fingerprint=mark)
    if held is not None:
        if held.fingerprint != mark:
            raise ApiProblem(422, "idempotency-key-reused", _("The request is not valid"),
                             _("This Idempotency-Key was used for another request in the last 24 hours. "
                               "Use a new key for a new request."))
        if not held.done:
            raise conflict("idempotency-key-in-use",
                           _("A request with this Idempotency-Key is still being handled. Wait for its answer, "
                             "then send it again to read it."))
        replay = HttpResponse(bytes(held.body), status=held.status or 200, content_type=held.content_type)
        if held.location:
            replay["Location"] = held.location
        replay["Idempotent-Replayed"] = "true"
        return replay
    try:
        response = _answer(request, produce)
    except BaseException:
        idempotency_release(**scope)
        raise
    if response.status_code >= 500 or response.status_code == 429:
        idempotency_release(**scope)
    else:
        idempotency_keep(**scope, status=response.status_code, content_type=response.get("Content-Type", ""),
                         body=response.content, location=response.get("Location", ""))
    return response

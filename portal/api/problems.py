"""Errors as RFC 9457 problem details (``application/problem+json``).

Every refusal of the API goes through here: the type names the kind of problem (stable, for
scripts), the title says it in the reader's language, the detail says what happened and what to do.
"""

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "urn:cloudvpn:problem:"


class ApiProblem(Exception):
    """A refusal: status, a stable code, a human detail and any extension members."""

    def __init__(self, status: int, code: str, title: str, detail: str = "", *, headers: dict[str, str] | None = None,
                 **extensions: Any) -> None:
        super().__init__(detail or title)
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.headers = headers or {}
        self.extensions = extensions


def problem_body(problem: ApiProblem, request: HttpRequest) -> dict[str, Any]:
    body: dict[str, Any] = {"type": TYPE_BASE + problem.code, "title": str(problem.title), "status": problem.status}
    if problem.detail:
        body["detail"] = str(problem.detail)
    body["instance"] = request.path
    body.update(problem.extensions)
    return body


def problem_response(problem: ApiProblem, request: HttpRequest) -> HttpResponse:
    response = HttpResponse(json.dumps(problem_body(problem, request), ensure_ascii=False),
                            status=problem.status, content_type=PROBLEM_CONTENT_TYPE)
    for name, value in problem.headers.items():
        response[name] = value
    return response


def unauthenticated(detail: str) -> ApiProblem:
    return ApiProblem(401, "unauthenticated", _("Not signed in"), detail,
                      headers={"WWW-Authenticate": 'Bearer realm="api"'})


def forbidden(detail: str, **extensions: Any) -> ApiProblem:
    return ApiProblem(403, "forbidden", _("Not allowed"), detail, **extensions)


def not_found(detail: str = "") -> ApiProblem:
    return ApiProblem(404, "not-found", _("Not found"), detail or _("Nothing of this tenant has this address."))


def conflict(code: str, detail: str, **extensions: Any) -> ApiProblem:
    return ApiProblem(409, code, _("Conflict"), detail, **extensions)


def invalid(errors: list[dict[str, str]], detail: str = "") -> ApiProblem:
    return ApiProblem(422, "invalid", _("The request is not valid"),
                      detail or _("Some values were refused: see errors."), errors=errors)
